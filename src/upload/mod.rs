//! The upload phase (DESIGN §6): sort out what the index already has, upload the rest through
//! the legacy upload API (Warehouse `forklift/legacy.py`: one streaming `multipart/form-data`
//! POST per file, retried safely) in the order of [`plan`], and read the index back to confirm.

mod attempt;
mod confirm;
mod error;
mod existing;
mod form;
mod outcome;
pub mod plan;

pub use attempt::Uploader;
pub use confirm::{Confirmation, confirm_uploads};
pub use error::{UploadError, UploadFailed};
pub use existing::sort_out_existing;
pub use form::{form, form_fields};
pub use outcome::{FileOutcome, FileReport, FileStates, FileStatus};
pub use plan::upload_all;
