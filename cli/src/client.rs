//! Calls to Berth's machine API with the caller's bearer token; a refusal becomes an error that says what
//! Berth said (its `message`, and each field's problem).

use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::Value;

use crate::settings;

pub struct Api {
    server: String,
    token: String,
    http: Client,
}

/// An HTTP client with Berth's timeouts.
pub fn http() -> anyhow::Result<Client> {
    Ok(Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("berth-cli/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

impl Api {
    /// The API at `server` (else the saved one) with `BERTH_TOKEN`, else the token `berth login` saved.
    pub fn connect(server: Option<&str>) -> anyhow::Result<Self> {
        let saved = settings::load()?;
        let server = server
            .map(str::to_string)
            .or_else(|| saved.as_ref().map(|saved| saved.server.clone()))
            .ok_or_else(|| anyhow!("which Berth? Run `berth login --server https://…` or set BERTH_SERVER"))?;
        let token = match std::env::var("BERTH_TOKEN") {
            Ok(token) if !token.is_empty() => token,
            _ => match saved {
                Some(saved) if saved.server == server => saved.token,
                _ => bail!("not signed in to {server}: run `berth login` (or set BERTH_TOKEN)"),
            },
        };
        Ok(Self { server: server.trim_end_matches('/').to_string(), token, http: http()? })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.send(self.http.get(format!("{}{path}", self.server)))
    }

    pub fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.http.post(format!("{}{path}", self.server)).json(body))
    }

    fn send(&self, request: RequestBuilder) -> anyhow::Result<Value> {
        let response = request.bearer_auth(&self.token).send().with_context(|| format!("calling {}", self.server))?;
        answer(response)
    }

    /// The id of the caller's grant of `namespace` (its newest, if it was requested again).
    pub fn grant_id(&self, namespace: &str) -> anyhow::Result<String> {
        let grants = self.get("/api/v1/grants")?;
        grants["grants"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|grant| grant["namespace"] == namespace)
            .and_then(|grant| grant["id"].as_str().map(str::to_string))
            .ok_or_else(|| anyhow!("you have no grant of {namespace} (see `berth ls`)"))
    }
}

/// The JSON of a successful answer; Berth's own words for a refusal.
pub fn answer(response: reqwest::blocking::Response) -> anyhow::Result<Value> {
    let status = response.status();
    let text = response.text()?;
    if status.is_success() {
        return Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(&text)? });
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut message = body["message"].as_str().map_or_else(|| format!("HTTP {status}"), str::to_string);
    for problem in body["problems"].as_array().into_iter().flatten() {
        message.push_str(&format!(
            "\n  {}: {}",
            problem["field"].as_str().unwrap_or("?"),
            problem["message"].as_str().unwrap_or("?")
        ));
    }
    if status.as_u16() == 401 {
        message.push_str("\n  (sign in again: `berth login`)");
    }
    Err(anyhow!("{message}"))
}
