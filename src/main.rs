//! The `pypi-oidc-publish` binary: parse inputs at the edge, run, report.

use std::collections::BTreeMap;
use std::process::ExitCode;

use pypi_oidc_publish::actions::{Console, Runner};
use pypi_oidc_publish::inputs::{RawInputs, Settings, command, raw_inputs};

fn main() -> ExitCode {
    // A panic message could quote a secret: it goes through the same writer as every line.
    std::panic::set_hook(Box::new(|info| {
        Console::log(&format!("internal error (please report it): {info}"));
    }));
    let env: BTreeMap<String, String> = std::env::vars().collect();
    // Every secret is masked before anything else can print (DESIGN §2): those of the
    // environment before the command line is even parsed, those of flags right after.
    mask_all(&RawInputs {
        flags: BTreeMap::new(),
        env: env.clone(),
    });
    let matches = match command().try_get_matches() {
        Ok(matches) => matches,
        // --help, --version and usage errors, through the one writer.
        Err(error) => {
            let text = error.render().to_string();
            if error.use_stderr() {
                Console::log(text.trim_end());
            } else {
                Console::line(text.trim_end());
            }
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let runner = Runner::from_env(&env);
    let raw = raw_inputs(&matches, env);
    mask_all(&raw);
    let verbose = raw
        .get("verbose")
        .is_some_and(|v| pypi_oidc_publish::inputs::parse_bool("verbose", v).unwrap_or(false));
    pypi_oidc_publish::console::start_log(verbose || runner.debug);

    let settings = match Settings::parse(&raw, &runner.workspace) {
        Ok(settings) => settings,
        Err(error) => {
            Console::error("Invalid input", &error.to_string());
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            Console::error(
                "Internal error",
                &format!("cannot start the async runtime: {error}"),
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(pypi_oidc_publish::run(settings, runner)) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            let title = pypi_oidc_publish::failure::error_title(&error);
            Console::error(&title, &format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}

fn mask_all(raw: &RawInputs) {
    for secret in raw.secrets() {
        pypi_oidc_publish::actions::mask_str(&secret);
    }
    for url in raw.urls() {
        pypi_oidc_publish::actions::mask_user_info(&url);
    }
}
