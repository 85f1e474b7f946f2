//! The unpacked stream of an sdist: gzip (RFC 1952) members one after another, zero padding
//! between them skipped, as Python's `gzip` module (and so `PyPI` and pip) reads them, with
//! every header field read in bounded memory and a budget on the unpacked bytes enforced
//! inside the reader, so the tar reader above it fails as soon as the budget is spent.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use flate2::Crc;
use flate2::bufread::DeflateDecoder;

/// Why the budget stopped the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// More unpacked bytes than the whole archive may hold (a decompression bomb).
    Total,
    /// A tar extension record (long name, PAX header) larger than it may be.
    HeaderRecord,
}

/// What the reader and the walk share: bytes unpacked so far, the current limit, and why it
/// tripped.
#[derive(Debug)]
pub struct Budget {
    unpacked: Cell<u64>,
    total: u64,
    limit: Cell<(u64, Spent)>,
    tripped: Cell<Option<Spent>>,
}

impl Budget {
    #[must_use]
    pub fn new(total: u64) -> Rc<Self> {
        Rc::new(Self {
            unpacked: Cell::new(0),
            total,
            limit: Cell::new((total, Spent::Total)),
            tripped: Cell::new(None),
        })
    }

    /// Unpacked bytes so far.
    pub fn unpacked(&self) -> u64 {
        self.unpacked.get()
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Allow reading only up to the absolute position `end` (never beyond the total): the
    /// bytes from here to `end` may hold tar header records, nothing else.
    pub fn limit_to(&self, end: u64) {
        if end < self.total {
            self.limit.set((end, Spent::HeaderRecord));
        } else {
            self.limit.set((self.total, Spent::Total));
        }
    }

    /// Back to the total budget.
    pub fn unlimit(&self) {
        self.limit.set((self.total, Spent::Total));
    }

    /// Why reading stopped early, if it did.
    pub fn tripped(&self) -> Option<Spent> {
        self.tripped.get()
    }
}

/// The decompressed bytes of every gzip member, within a [`Budget`].
pub struct Members<R: BufRead> {
    state: State<R>,
    budget: Rc<Budget>,
    /// Stop at the end of the current member instead of starting the next one.
    stop_at_member_end: bool,
    /// Non-gzip bytes follow the last member (Python ignores them unless it has to read there).
    pub trailing_data: bool,
}

enum State<R: BufRead> {
    /// Between members: the next thing in the file is a gzip header (or the end).
    Between(R),
    Member {
        deflate: DeflateDecoder<R>,
        crc: Crc,
    },
    Done,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl<R: BufRead> Members<R> {
    pub fn new(inner: R, budget: Rc<Budget>) -> Self {
        Self {
            state: State::Between(inner),
            budget,
            stop_at_member_end: false,
            trailing_data: false,
        }
    }

    /// From now on, end where the current member ends: read to its CRC, not into the next.
    pub fn stop_at_member_end(&mut self) {
        self.stop_at_member_end = true;
    }

    fn read_unbudgeted(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(0),
                State::Between(mut inner) => {
                    skip_zeros(&mut inner)?;
                    if inner.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    // Python reads two bytes and stops unless they are the gzip magic.
                    let mut magic = [0_u8; 2];
                    if inner.read_exact(&mut magic).is_err() || magic != GZIP_MAGIC {
                        self.trailing_data = true;
                        return Ok(0);
                    }
                    read_header(&mut inner)?;
                    self.state = State::Member {
                        deflate: DeflateDecoder::new(inner),
                        crc: Crc::new(),
                    };
                }
                State::Member {
                    mut deflate,
                    mut crc,
                } => {
                    let read = deflate.read(buffer)?;
                    if read > 0 || buffer.is_empty() {
                        crc.update(&buffer[..read]);
                        self.state = State::Member { deflate, crc };
                        return Ok(read);
                    }
                    let mut inner = deflate.into_inner();
                    check_trailer(&mut inner, &crc)?;
                    if self.stop_at_member_end {
                        return Ok(0);
                    }
                    self.state = State::Between(inner);
                }
            }
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let (limit, reason) = self.budget.limit.get();
        let position = self.budget.unpacked.get();
        let allowed = usize::try_from(limit.saturating_sub(position)).unwrap_or(usize::MAX);
        if allowed == 0 && !buffer.is_empty() {
            // At the limit: fine if the stream ends here, a trip if it goes on.
            let mut probe = [0_u8; 1];
            if self.read_unbudgeted(&mut probe)? == 0 {
                return Ok(0);
            }
            self.budget.tripped.set(Some(reason));
            return Err(io::Error::other(match reason {
                Spent::Total => "the unpacked size limit was reached",
                Spent::HeaderRecord => "a tar header record is too large",
            }));
        }
        let wanted = buffer.len().min(allowed);
        let read = self.read_unbudgeted(&mut buffer[..wanted])?;
        self.budget.unpacked.set(position + read as u64);
        Ok(read)
    }
}

fn skip_zeros(inner: &mut impl BufRead) -> io::Result<()> {
    loop {
        let available = inner.fill_buf()?;
        let zeros = available.iter().take_while(|byte| **byte == 0).count();
        if zeros == 0 {
            return Ok(());
        }
        inner.consume(zeros);
    }
}

fn damaged(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("gzip: {what}"))
}

fn read_byte(inner: &mut impl BufRead) -> io::Result<u8> {
    let mut byte = [0_u8; 1];
    inner.read_exact(&mut byte)?;
    Ok(byte[0])
}

/// The member header after its magic (RFC 1952 2.3): fixed part, then the optional fields,
/// skipped without keeping them (a name or comment field may be as long as the file).
fn read_header(inner: &mut impl BufRead) -> io::Result<()> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    // Method, flags, mtime (4), extra flags, OS.
    let mut fixed = [0_u8; 8];
    inner.read_exact(&mut fixed)?;
    if fixed[0] != 8 {
        return Err(damaged("unknown compression method"));
    }
    // Reserved flag bits are ignored, as Python ignores them.
    let flags = fixed[1];
    if flags & FEXTRA != 0 {
        let length = u16::from_le_bytes([read_byte(inner)?, read_byte(inner)?]);
        io::copy(&mut inner.take(u64::from(length)), &mut io::sink())?;
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            skip_through_nul(inner)?;
        }
    }
    if flags & FHCRC != 0 {
        inner.read_exact(&mut [0_u8; 2])?;
    }
    Ok(())
}

fn skip_through_nul(inner: &mut impl BufRead) -> io::Result<()> {
    loop {
        let available = inner.fill_buf()?;
        if available.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(at) = available.iter().position(|byte| *byte == 0) {
            inner.consume(at + 1);
            return Ok(());
        }
        let length = available.len();
        inner.consume(length);
    }
}

/// CRC-32 and size modulo 2^32 of the member just read.
fn check_trailer(inner: &mut impl BufRead, crc: &Crc) -> io::Result<()> {
    let mut trailer = [0_u8; 8];
    inner.read_exact(&mut trailer)?;
    let stored_crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let stored_size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    if stored_crc != crc.sum() || stored_size != crc.amount() {
        return Err(damaged("CRC or length check failed: the data is corrupt"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn unpack(bytes: &[u8], total: u64) -> (io::Result<Vec<u8>>, Option<Spent>, bool) {
        let budget = Budget::new(total);
        let mut members = Members::new(bytes, Rc::clone(&budget));
        let mut out = Vec::new();
        let result = members.read_to_end(&mut out).map(|_| out);
        (result, budget.tripped(), members.trailing_data)
    }

    #[test]
    fn members_are_read_one_after_another_like_python() {
        let mut bytes = gzip(b"first ");
        bytes.extend_from_slice(&[0; 7]); // zero padding between members
        bytes.extend(gzip(b"second"));
        let (result, tripped, trailing) = unpack(&bytes, 1 << 20);
        assert_eq!(result.unwrap(), b"first second");
        assert_eq!((tripped, trailing), (None, false));
    }

    #[test]
    fn trailing_bytes_end_the_stream() {
        let mut bytes = gzip(b"data");
        bytes.extend_from_slice(b"not gzip");
        let (result, _, trailing) = unpack(&bytes, 1 << 20);
        assert_eq!(result.unwrap(), b"data");
        assert!(trailing);
    }

    #[test]
    fn a_corrupt_crc_is_an_error() {
        let mut bytes = gzip(b"data");
        let at = bytes.len() - 8;
        bytes[at] ^= 1;
        assert!(unpack(&bytes, 1 << 20).0.is_err());
    }

    #[test]
    fn the_budget_trips_only_when_the_stream_goes_on() {
        let bytes = gzip(&[b'a'; 1000]);
        let (result, tripped, _) = unpack(&bytes, 1000);
        assert_eq!(result.unwrap().len(), 1000);
        assert_eq!(tripped, None);
        let (result, tripped, _) = unpack(&bytes, 999);
        assert!(result.is_err());
        assert_eq!(tripped, Some(Spent::Total));
    }

    #[test]
    fn header_fields_are_skipped() {
        let mut encoder = flate2::GzBuilder::new()
            .filename("x".repeat(100_000))
            .comment("c")
            .extra(vec![1; 300])
            .write(Vec::new(), flate2::Compression::fast());
        encoder.write_all(b"payload").unwrap();
        let bytes = encoder.finish().unwrap();
        assert_eq!(unpack(&bytes, 1 << 20).0.unwrap(), b"payload");
    }
}
