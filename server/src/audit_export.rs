//! `GET /admin/audit/export.csv` and `.json`: the audit log as a file, for admins, with the same filters as
//! the audit log page (`person`, `namespace`, `kind`, `from`, `to`), newest first.
//!
//! Not a server function: the answer is a file the browser saves. The policy's gate for reading the audit log
//! runs here, as in the audit log's server function. At most [`EXPORT_MAX_EVENTS`] events; `X-Total-Count` says how many matched,
//! so a cut export is never mistaken for the whole log.

use app::admin::{AuditEntry, AuditFilter};
use app::auth::SessionView;
use app::error::ApiError;
use app::policy::{UseCase, authorize};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router, routing::get};

use crate::error::ErrorReply;
use crate::state::AppState;
use crate::store::admin::EXPORT_MAX_EVENTS;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit/{file}", get(export))
}

async fn export(
    State(state): State<AppState>,
    Extension(session): Extension<SessionView>,
    Path(file): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let refuse = |error: ApiError| ErrorReply::json(error).into_response();
    if let Err(refusal) = authorize(&session, UseCase::ReadAudit) {
        return refuse(refusal.into());
    }
    let (content_type, extension) = match file.as_str() {
        "export.csv" => ("text/csv; charset=utf-8", "csv"),
        "export.json" => ("application/json", "json"),
        _ => return refuse(ApiError::NotFound),
    };
    let filter = AuditFilter::from_query(|key| query.get(key).cloned());
    let slice = match state.store.audit_events(&filter, EXPORT_MAX_EVENTS, 0).await {
        Ok(slice) => slice,
        Err(error) => return refuse(error.into()),
    };
    let body = if extension == "csv" {
        csv(&slice.items)
    } else {
        match serde_json::to_string_pretty(&slice.items) {
            Ok(json) => json,
            Err(_) => return refuse(ApiError::Internal),
        }
    };
    let filename =
        format!("attachment; filename=\"berth-audit-{}.{extension}\"", state.clock.now().format("%Y%m%d-%H%M%S"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&filename).unwrap_or(HeaderValue::from_static("attachment")),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::HeaderName::from_static("x-total-count"), HeaderValue::from(slice.total)),
        ],
        body,
    )
        .into_response()
}

const CSV_HEADER: [&str; 11] = [
    "id",
    "at",
    "actor",
    "actor_email",
    "action",
    "namespace",
    "request_id",
    "from_state",
    "to_state",
    "credential_id",
    "reason",
];

/// RFC 4180 CSV, one line per event.
pub fn csv(entries: &[AuditEntry]) -> String {
    let mut out = CSV_HEADER.join(",");
    out.push_str("\r\n");
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.to_rfc3339(),
            e.actor.clone().unwrap_or_else(|| "Berth".to_string()),
            e.actor_email.clone().unwrap_or_default(),
            e.action.as_str().to_string(),
            e.namespace.clone(),
            e.request_id.clone(),
            e.from.map(|s| s.as_str().to_string()).unwrap_or_default(),
            e.to.as_str().to_string(),
            e.credential_id.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV field: quoted when it holds a separator, a quote or a line break. Text a person typed that a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading `'`.
fn csv_field(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::requests::{Action, RequestState};

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let entry = AuditEntry {
            id: 7,
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            actor: None,
            actor_email: None,
            action: Action::RevokeCredential,
            request_id: "r1".into(),
            namespace: "team-a".into(),
            from: Some(RequestState::Ready),
            to: RequestState::Ready,
            credential_id: Some("c1".into()),
            reason: Some("=HYPERLINK(\"http://evil\"), then\nmore".into()),
        };
        let text = csv(&[entry]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            "7,2027-01-15T08:00:00+00:00,Berth,,revoke_credential,team-a,r1,ready,ready,c1,\"'=HYPERLINK(\"\"http://evil\"\"), then\nmore\""
        );
        assert_eq!(csv_field("-5"), "'-5");
        assert_eq!(csv_field("plain"), "plain");
    }
}
