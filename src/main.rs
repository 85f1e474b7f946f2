//! The `pypi-oidc-publish` binary: parse inputs at the edge, run, report.

use std::collections::BTreeMap;
use std::process::ExitCode;

use pypi_oidc_publish::actions::{Console, RedactingStderr, Runner};
use pypi_oidc_publish::inputs::{Settings, command, raw_inputs};

fn main() -> ExitCode {
    // A panic message could quote a secret: it goes through the same redaction as every line.
    std::panic::set_hook(Box::new(|info| {
        use std::io::Write as _;
        let _ = writeln!(RedactingStderr, "internal error (please report it): {info}");
    }));
    let matches = command().get_matches(); // --help, --version and usage errors exit here (2)
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let runner = Runner::from_env(&env);
    let raw = raw_inputs(&matches, env);
    // Every secret is masked before anything else can print it (DESIGN §2).
    for secret in raw.secrets() {
        pypi_oidc_publish::actions::mask_str(&secret);
    }
    let verbose = raw
        .get("verbose")
        .is_some_and(|v| pypi_oidc_publish::inputs::parse_bool("verbose", v).unwrap_or(false));
    init_logging(verbose || runner.debug);

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
            let title = pypi_oidc_publish::error_title(&error);
            Console::error(&title, &format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}

fn init_logging(debug: bool) {
    let level = if debug { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_new(format!("warn,pypi_oidc_publish={level}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .init();
}
