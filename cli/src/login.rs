//! `berth login`: OpenID Connect's authorization code flow with PKCE for a native app, redirected to a
//! loopback address (RFC 8252): the command line listens on 127.0.0.1 on a free port, the person signs in
//! at the company's identity provider in a browser, the provider sends the browser back to that port with a
//! code, and the command line exchanges the code for an ID token, which Berth exchanges for a token of its
//! own (`POST /api/v1/tokens/person`). Berth says which provider and client to use (`GET /api/v1/cli`).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest as _, Sha256};
use url::Url;

use crate::client::{answer, http};
use crate::settings::{self, Saved};

/// How long the command line waits for the browser to come back.
const WAIT_FOR_BROWSER: Duration = Duration::from_secs(300);

fn random(bytes: usize) -> anyhow::Result<String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::getrandom(&mut buffer).map_err(|error| anyhow!("no randomness: {error}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer))
}

pub fn login(server: Option<&str>, no_browser: bool) -> anyhow::Result<()> {
    let server = match server {
        Some(server) => server.trim_end_matches('/').to_string(),
        None => settings::load()?
            .map(|saved| saved.server)
            .ok_or_else(|| anyhow!("which Berth? Run `berth login --server https://…`"))?,
    };
    let http = http()?;
    let sign_in = answer(http.get(format!("{server}/api/v1/cli")).send().context("asking Berth how to sign in")?)?;
    let issuer = sign_in["issuer"].as_str().ok_or_else(|| anyhow!("Berth named no identity provider"))?;
    let client_id = sign_in["client_id"].as_str().ok_or_else(|| anyhow!("Berth named no client"))?;
    let scopes = sign_in["scopes"].as_str().unwrap_or("openid email profile");
    let discovery = answer(
        http.get(format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')))
            .send()
            .context("reaching the identity provider")?,
    )?;
    let authorize_at =
        discovery["authorization_endpoint"].as_str().ok_or_else(|| anyhow!("no authorization endpoint"))?;
    let token_at = discovery["token_endpoint"].as_str().ok_or_else(|| anyhow!("no token endpoint"))?;

    let listener = TcpListener::bind("127.0.0.1:0").context("listening on 127.0.0.1")?;
    let redirect = format!("http://127.0.0.1:{}/callback", listener.local_addr()?.port());
    let verifier = random(32)?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let state = random(16)?;
    let nonce = random(16)?;
    let mut url = Url::parse(authorize_at)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &redirect)
        .append_pair("scope", scopes)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    eprintln!("Sign in at your identity provider: {url}");
    if !no_browser {
        // Best effort: the address is printed above either way.
        let _ = std::process::Command::new("xdg-open").arg(url.as_str()).spawn();
    }

    let code = wait_for_code(&listener, &state)?;
    let tokens = answer(
        http.post(token_at)
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("client_id", client_id),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .context("exchanging the code at the identity provider")?,
    )?;
    let id_token = tokens["id_token"].as_str().ok_or_else(|| anyhow!("the identity provider sent no ID token"))?;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "this machine".to_string());
    let made = answer(
        http.post(format!("{server}/api/v1/tokens/person"))
            .json(&json!({ "id_token": id_token, "nonce": nonce, "name": format!("berth login on {host}") }))
            .send()
            .context("signing in to Berth")?,
    )?;
    let token = made["token"].as_str().ok_or_else(|| anyhow!("Berth sent no token"))?;
    let expires_at = made["expires_at"].as_str().unwrap_or_default().to_string();
    settings::save(&Saved { server: server.clone(), token: token.to_string(), expires_at: expires_at.clone() })?;
    println!(
        "Signed in to {server} as {} ({}) until {expires_at}.",
        made["display_name"].as_str().unwrap_or("?"),
        made["role"].as_str().unwrap_or("no role")
    );
    Ok(())
}

/// Accepts the browser's return to the loopback address and reads the code, if `state` matches.
fn wait_for_code(listener: &TcpListener, state: &str) -> anyhow::Result<String> {
    listener.set_nonblocking(false)?;
    let deadline = std::time::Instant::now() + WAIT_FOR_BROWSER;
    loop {
        if std::time::Instant::now() > deadline {
            bail!("no answer from the browser within {} minutes", WAIT_FOR_BROWSER.as_secs() / 60);
        }
        let (mut stream, _) = listener.accept()?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line)?;
        // `GET /callback?code=…&state=… HTTP/1.1`
        let target = line.split_whitespace().nth(1).unwrap_or_default();
        let Ok(url) = Url::parse(&format!("http://127.0.0.1{target}")) else { continue };
        if url.path() != "/callback" {
            let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            continue;
        }
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let find = |key: &str| query.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let (page, result) = match (find("code"), find("state"), find("error")) {
            (_, _, Some(error)) => {
                ("Sign-in failed; see the command line.", Err(anyhow!("the identity provider said: {error}")))
            }
            (Some(code), Some(returned), None) if returned == state => {
                ("Signed in to Berth. You can close this tab.", Ok(code))
            }
            _ => {
                ("Sign-in failed; see the command line.", Err(anyhow!("the browser came back without a valid answer")))
            }
        };
        let body = format!("<!DOCTYPE html><title>Berth</title><p>{page}</p>");
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        return result;
    }
}
