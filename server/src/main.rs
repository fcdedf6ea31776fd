//! `berth-server [--config FILE]`: runs the portal. Configuration: see `config.rs` and the README.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth_server::{Berth, config::Config, telemetry};

/// mimalloc rather than glibc's malloc: rendering a page allocates thousands of small strings and frees them
/// at once, where glibc spent a quarter of a page view's CPU time (`make load`, perf).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config_file = match parse_args(std::env::args().skip(1)) {
        Ok(Some(file)) => file,
        Ok(None) => return ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("berth: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Configuration errors go to stderr before logging exists: they must be readable whatever log.format says.
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("berth: {error}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = telemetry::init(&config.log) {
        eprintln!("berth: {error}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("berth: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "berth stopped with an error");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: berth-server [--config FILE]\n\nSettings come from defaults, then FILE (or $BERTH_CONFIG), \
then BERTH_* environment variables. See the README's configuration section.";

/// `Ok(None)`: help was printed, nothing to run.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Option<PathBuf>>, String> {
    let mut file = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => file = Some(PathBuf::from(args.next().ok_or("--config needs a file")?)),
            "--version" | "-V" => {
                println!("berth {}", berth_server::system::VERSION);
                return Ok(None);
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    Ok(Some(file))
}

async fn run(config: Config) -> anyhow::Result<()> {
    let berth = Berth::build(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(address = %config.listen, version = berth_server::system::VERSION, "listening");
    berth.serve(listener, shutdown_signal(), Duration::from_secs(config.shutdown_grace_seconds)).await
}

/// Completes on SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = terminate => tracing::info!("SIGTERM received"),
    }
}
