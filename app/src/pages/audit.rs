//! The audit log, for admins: every event of every request (decisions, provisioning, kubeconfigs issued and
//! revoked, extensions, revocations, expiries, namespace deletions), newest first, filterable by person,
//! namespace, kind and day, and exported as CSV or JSON with the same filters.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::admin::{AuditEntry, AuditFilter, MAX_FILTER_CHARS};
use crate::api::admin::list_audit_events;
use crate::components::error_view::loaded;
use crate::components::requests::{Pager, minute};
use crate::components::session::RequireRole;
use crate::policy::UseCase;
use crate::requests::Action;

#[component]
pub fn AuditLogPage() -> impl IntoView {
    view! {
        <Title text="Audit log" />
        <RequireRole use_case=UseCase::ReadAudit>
            <section class="page">
                <h1>"Audit log"</h1>
                <p class="muted">"Who did what to which namespace, and why. Times are UTC."</p>
                <Events />
            </section>
        </RequireRole>
    }
}

#[component]
fn Events() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| query.with(|q| AuditFilter::from_query(|key| q.get(key))));
    let events = Resource::new(
        move || filter.get(),
        |f| {
            let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
            list_audit_events(
                f.person,
                f.namespace,
                f.action.map(|a| a.as_str().to_string()).unwrap_or_default(),
                day(f.from),
                day(f.to),
                f.page.to_string(),
            )
        },
    );
    view! {
        {move || view! { <Filters filter=filter.get() /> }}
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let query = filter.get_untracked().query(0).trim_start_matches('?').to_string();
                loaded(events.await, |page| {
                    if page.total == 0 {
                        return view! { <p class="notice" data-testid="no-events">"No event matches."</p> }
                            .into_any();
                    }
                    let rows = page.items.clone();
                    view! {
                        <div class="table-scroll">
                            <table class="table audit" data-testid="audit-events">
                                <thead>
                                    <tr>
                                        <th scope="col">"When"</th>
                                        <th scope="col">"Who"</th>
                                        <th scope="col">"What"</th>
                                        <th scope="col">"Namespace"</th>
                                        <th scope="col">"State"</th>
                                        <th scope="col">"Reason or detail"</th>
                                    </tr>
                                </thead>
                                <tbody>{rows.into_iter().map(|entry| view! { <EventRow entry /> }).collect_view()}</tbody>
                            </table>
                        </div>
                        <Pager page path="/admin/audit" noun=("event", "events") query />
                    }
                        .into_any()
                })
            })}
        </Suspense>
    }
}

#[component]
fn Filters(filter: AuditFilter) -> impl IntoView {
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let export = filter.query(0);
    view! {
        <form method="get" action="/admin/audit" class="filters" role="search" data-testid="audit-filters">
            <div class="field">
                <label for="audit-person">"Person"</label>
                <input id="audit-person" name="person" value=filter.person.clone() placeholder="Name or email"
                    maxlength=MAX_FILTER_CHARS />
            </div>
            <div class="field">
                <label for="audit-namespace">"Namespace"</label>
                <input id="audit-namespace" name="namespace" value=filter.namespace.clone() maxlength=MAX_FILTER_CHARS />
            </div>
            <div class="field">
                <label for="audit-kind">"Kind"</label>
                <select id="audit-kind" name="kind">
                    <option value="" selected=filter.action.is_none()>"Any"</option>
                    {Action::ALL
                        .into_iter()
                        .map(|action| view! {
                            <option value=action.as_str() selected=filter.action == Some(action)>{action.past_tense()}</option>
                        })
                        .collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="audit-from">"From"</label>
                <input id="audit-from" type="date" name="from" value=day(filter.from) />
            </div>
            <div class="field">
                <label for="audit-to">"To"</label>
                <input id="audit-to" type="date" name="to" value=day(filter.to) />
            </div>
            <div class="filter-actions">
                <button type="submit" class="button">"Apply"</button>
                <a href="/admin/audit" class="button secondary">"Clear"</a>
                // Files, not pages: `rel=external` keeps the router from handling the link itself.
                <a href=format!("/admin/audit/export.csv{export}") rel="external" download="" data-testid="export-csv">
                    "Export CSV"
                </a>
                <a href=format!("/admin/audit/export.json{export}") rel="external" download="" data-testid="export-json">
                    "Export JSON"
                </a>
            </div>
        </form>
    }
}

#[component]
fn EventRow(entry: AuditEntry) -> impl IntoView {
    let who = entry.actor.clone().unwrap_or_else(|| "Berth".to_string());
    let state = match entry.from {
        Some(from) if from != entry.to => format!("{} → {}", from.label(), entry.to.label()),
        _ => entry.to.label().to_string(),
    };
    view! {
        <tr data-testid="audit-event" data-action=entry.action.as_str()>
            <td data-label="When"><time>{minute(entry.at)}</time></td>
            <td data-label="Who" title=entry.actor_email.unwrap_or_default()>{who}</td>
            <td data-label="What">{entry.action.past_tense()}</td>
            <td data-label="Namespace"><a href=format!("/requests/{}", entry.request_id)>{entry.namespace}</a></td>
            <td data-label="State">{state}</td>
            <td data-label="Reason or detail" class="reason">{entry.reason.unwrap_or_default()}</td>
        </tr>
    }
}
