//! `berth`, Berth's command line: sign in with the company's identity provider (`berth login`), list and
//! request namespaces, get kubeconfigs (with `--exec`, one that holds no token at all: kubectl runs
//! `berth token` for a token of a few minutes whenever it needs one), approve requests, and manage robots.
//!
//! It talks only to Berth's machine API (`/api/v1`, see `server/src/api/openapi.json`) with a bearer token:
//! the one `berth login` saved, or `BERTH_TOKEN` (a robot's API token, in CI).

mod client;
mod kubeconfig;
mod login;
mod settings;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use client::Api;

#[derive(Parser)]
#[command(name = "berth", version, about = "Berth's command line: namespaces, kubeconfigs, approvals and robots.")]
struct Cli {
    /// Berth's address, such as https://berth.example.com (default: the one `berth login` signed in to).
    #[arg(long, env = "BERTH_SERVER", global = true)]
    server: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign in with the identity provider in a browser (a loopback redirect); saves a token for a few hours.
    Login {
        /// Print the address to open instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// Forget the saved token.
    Logout,
    /// List your grants (those you requested and those you are a member of).
    Ls,
    /// Request a namespace.
    Request {
        namespace: String,
        /// Why you need it (approvers read this).
        #[arg(long)]
        purpose: String,
        #[arg(long, default_value = "test")]
        stage: String,
        /// `none` (Helm 3 and later) or `tiller`.
        #[arg(long, default_value = "none")]
        helm: String,
        #[arg(long, default_value = "small")]
        profile: String,
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
    /// Get a kubeconfig for a namespace you may use.
    Kubeconfig {
        namespace: String,
        /// A robot's kubeconfig instead of your own.
        #[arg(long)]
        robot: Option<String>,
        /// Its lifetime (without --exec).
        #[arg(long, default_value_t = 8)]
        hours: u32,
        /// Write a kubeconfig whose user runs `berth token` for a short-lived token: no token on disk.
        #[arg(long)]
        exec: bool,
        /// Where to write it (default: NAMESPACE.kubeconfig).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print an ExecCredential with a fresh token of a few minutes (what kubectl runs for --exec kubeconfigs).
    Token {
        namespace: String,
        #[arg(long)]
        robot: Option<String>,
        /// The token's lifetime (10 to 60 minutes).
        #[arg(long, default_value_t = 10)]
        minutes: u32,
    },
    /// List what you may approve, or approve the request for NAMESPACE.
    Approve { namespace: Option<String> },
    /// List a grant's robots, add one, or make an API token for one.
    Robots {
        namespace: String,
        #[command(subcommand)]
        action: Option<RobotAction>,
    },
}

#[derive(Subcommand)]
enum RobotAction {
    /// Create a robot (an identity of its own for a CI system).
    Add { name: String },
    /// Make an API token for robot NAME (shown once).
    Token {
        name: String,
        /// What it is for.
        #[arg(long = "for", default_value = "CI")]
        purpose: String,
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("berth: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Login { no_browser } => login::login(cli.server.as_deref(), no_browser),
        Command::Logout => settings::forget(),
        Command::Ls => {
            let api = Api::connect(cli.server.as_deref())?;
            let grants = api.get("/api/v1/grants")?;
            print_grants(grants["grants"].as_array().map(Vec::as_slice).unwrap_or_default());
            Ok(())
        }
        Command::Request { namespace, purpose, stage, helm, profile, days } => {
            let api = Api::connect(cli.server.as_deref())?;
            let body = json!({
                "namespace": namespace, "purpose": purpose, "stage": stage, "helm_mode": helm,
                "quota_profile": profile, "lifetime_days": days,
            });
            let made = api.post("/api/v1/requests", &body)?;
            println!(
                "Requested {} ({}): {}",
                made["namespace"].as_str().unwrap_or_default(),
                made["id"].as_str().unwrap_or_default(),
                made["state"].as_str().unwrap_or_default()
            );
            Ok(())
        }
        Command::Kubeconfig { namespace, robot, hours, exec, output } => {
            let api = Api::connect(cli.server.as_deref())?;
            let id = api.grant_id(&namespace)?;
            let path = output.unwrap_or_else(|| PathBuf::from(format!("{namespace}.kubeconfig")));
            let contents = if exec {
                let cluster = api.get(&format!("/api/v1/grants/{id}/cluster"))?;
                kubeconfig::with_exec_plugin(&cluster, &namespace, robot.as_deref(), api.server())?
            } else {
                let mut body = json!({ "lifetime_hours": hours });
                if let Some(robot) = &robot {
                    body["robot"] = json!(robot);
                }
                let issued = api.post(&format!("/api/v1/grants/{id}/kubeconfig"), &body)?;
                issued["kubeconfig"].as_str().unwrap_or_default().to_string()
            };
            settings::write_private(&path, &contents)?;
            let what =
                if exec { "runs `berth token` for a fresh token whenever kubectl needs one" } else { "holds a token" };
            println!("Wrote {} ({what}). Use it with: export KUBECONFIG={}", path.display(), path.display());
            Ok(())
        }
        Command::Token { namespace, robot, minutes } => {
            let api = Api::connect(cli.server.as_deref())?;
            let id = api.grant_id(&namespace)?;
            let mut body = json!({ "lifetime_minutes": minutes });
            if let Some(robot) = &robot {
                body["robot"] = json!(robot);
            }
            let issued = api.post(&format!("/api/v1/grants/{id}/kubeconfig"), &body)?;
            let credential = kubeconfig::exec_credential(&issued)?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{credential}")?;
            Ok(())
        }
        Command::Approve { namespace } => {
            let api = Api::connect(cli.server.as_deref())?;
            let waiting = api.get("/api/v1/approvals")?;
            let requests = waiting["requests"].as_array().cloned().unwrap_or_default();
            match namespace {
                None => {
                    if requests.is_empty() {
                        println!("Nothing waits for your decision.");
                    } else {
                        print_grants(&requests);
                    }
                }
                Some(namespace) => {
                    let request = requests
                        .iter()
                        .find(|r| r["namespace"] == namespace.as_str())
                        .ok_or_else(|| anyhow::anyhow!("no request for {namespace} waits for your decision"))?;
                    let id = request["id"].as_str().unwrap_or_default();
                    let now = api.post(&format!("/api/v1/requests/{id}/approve"), &json!({}))?;
                    // The state right after: pending while more approvals are needed, else approved, or
                    // already provisioning once the worker has taken it up.
                    println!(
                        "{namespace}: approved by you; the request is {}",
                        now["state"].as_str().unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        Command::Robots { namespace, action } => {
            let api = Api::connect(cli.server.as_deref())?;
            let id = api.grant_id(&namespace)?;
            match action {
                None => {
                    let robots = api.get(&format!("/api/v1/grants/{id}/robots"))?;
                    for robot in robots["robots"].as_array().into_iter().flatten() {
                        println!(
                            "{}\t{}",
                            robot["name"].as_str().unwrap_or_default(),
                            robot["username"].as_str().unwrap_or_default()
                        );
                    }
                }
                Some(RobotAction::Add { name }) => {
                    let robot = api.post(&format!("/api/v1/grants/{id}/robots"), &json!({ "name": name }))?;
                    println!(
                        "Robot {} acts as {}",
                        robot["name"].as_str().unwrap_or_default(),
                        robot["username"].as_str().unwrap_or_default()
                    );
                }
                Some(RobotAction::Token { name, purpose, days }) => {
                    let robots = api.get(&format!("/api/v1/grants/{id}/robots"))?;
                    let robot = robots["robots"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .find(|robot| robot["name"] == name.as_str())
                        .ok_or_else(|| anyhow::anyhow!("{namespace} has no robot named {name}"))?;
                    let robot_id = robot["id"].as_str().unwrap_or_default();
                    let made = api.post(
                        &format!("/api/v1/grants/{id}/robots/{robot_id}/tokens"),
                        &json!({ "name": purpose, "days": days }),
                    )?;
                    eprintln!(
                        "API token for robot {name}, until {} (shown once):",
                        made["expires_at"].as_str().unwrap_or_default()
                    );
                    println!("{}", made["token"].as_str().unwrap_or_default());
                }
            }
            Ok(())
        }
    }
}

/// Grants as a table: namespace, state, stage, Helm mode, end.
fn print_grants(grants: &[Value]) {
    println!("{:<32} {:<13} {:<15} {:<7} ENDS", "NAMESPACE", "STATE", "STAGE", "HELM");
    for grant in grants {
        let text = |key: &str| grant[key].as_str().unwrap_or("-").to_string();
        println!(
            "{:<32} {:<13} {:<15} {:<7} {}",
            text("namespace"),
            text("state"),
            text("stage"),
            text("helm_mode"),
            text("expires_at")
        );
    }
}
