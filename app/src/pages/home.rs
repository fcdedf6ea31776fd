//! The home page: what Berth is for, and the server's status (the first server-function round trip).

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::server_info::{GetServerInfo, get_server_info};
use crate::auth::SessionView;
use crate::components::error_view::ErrorView;
use crate::components::session::use_session;
use crate::navigation::sections_for;
use crate::navigation::sign_in_href;
use crate::system::ServerInfo;

#[component]
pub fn HomePage() -> impl IntoView {
    let initial = Resource::new(|| (), |_| get_server_info());
    // "Check again": an ActionForm, so it also works without JavaScript (the form posts, the server redirects
    // back and renders a fresh answer).
    let check = ServerAction::<GetServerInfo>::new();

    view! {
        <Title text="" />
        <section class="hero">
            <h1>"A namespace of your own, without the cluster-admin key"</h1>
            <p>
                "Ask for a Kubernetes namespace, get it approved, and download a kubeconfig that works there "
                "and nowhere else: for your laptop or for a CI server."
            </p>
        </section>
        <Welcome />
        <section class="card" aria-labelledby="status-heading">
            <h2 id="status-heading">"Server status"</h2>
            <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
                <Suspense fallback=|| view! { <p class="muted">"Asking the server…"</p> }>
                    {move || {
                        // The latest "Check again" answer wins over the one the page was rendered with.
                        let latest = check.value().get();
                        Suspend::new(async move {
                            let info = match latest {
                                Some(answer) => answer,
                                None => initial.await,
                            };
                            info.map(|info| view! { <ServerStatus info /> })
                        })
                    }}
                </Suspense>
            </ErrorBoundary>
            <ActionForm action=check>
                <button type="submit" class="button" disabled=move || check.pending().get()>
                    "Check again"
                </button>
            </ActionForm>
        </section>
    }
}

/// What the person can do next: sign in, or go to the sections their role opens.
#[component]
fn Welcome() -> impl IntoView {
    let session = use_session();
    view! {
        <section class="card" aria-labelledby="welcome-heading" data-testid="welcome">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.await.unwrap_or(SessionView::Anonymous) {
                        SessionView::Anonymous => view! {
                            <h2 id="welcome-heading">"Sign in to start"</h2>
                            <p>"Berth uses your company account; your groups decide what you may do here."</p>
                            <a class="button" rel="external" href=sign_in_href("/")>"Sign in"</a>
                        }
                            .into_any(),
                        SessionView::NoAccess(person) => view! {
                            <h2 id="welcome-heading">{format!("Welcome, {}", person.display_name)}</h2>
                            <p>"None of your groups gives access to Berth yet. " <a href="/no-access">"What now?"</a></p>
                        }
                            .into_any(),
                        SessionView::SignedIn(person, role) => view! {
                            <h2 id="welcome-heading">{format!("Welcome, {}", person.display_name)}</h2>
                            <p>{format!("You are signed in as {}.", role.label().to_lowercase())}</p>
                            <ul class="links">
                                {sections_for(role)
                                    .map(|section| view! { <li><a href=section.path>{section.label}</a></li> })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn ServerStatus(info: ServerInfo) -> impl IntoView {
    let uptime = format_duration(info.answered_at - info.started_at);
    view! {
        <dl class="facts" data-testid="server-status">
            <dt>"Version"</dt>
            <dd data-testid="version">{info.version}</dd>
            <dt>"Running since"</dt>
            <dd>
                <Timestamp at=info.started_at testid="started-at" />
                " (" {uptime} ")"
            </dd>
            <dt>"Answered at"</dt>
            <dd>
                <Timestamp at=info.answered_at testid="answered-at" />
            </dd>
            <dt>"Installation"</dt>
            <dd><code>{info.installation_id}</code></dd>
        </dl>
    }
}

/// A point in time, shown to the second in UTC, with the exact instant in `datetime` for machines.
#[component]
fn Timestamp(at: DateTime<Utc>, testid: &'static str) -> impl IntoView {
    view! {
        <time
            datetime=at.to_rfc3339_opts(SecondsFormat::Millis, true)
            data-testid=testid
        >
            {at.format("%Y-%m-%d %H:%M:%S UTC").to_string()}
        </time>
    }
}

/// A duration the way people say it: the two largest units, e.g. "3 d 4 h" or "12 min 5 s".
pub fn format_duration(duration: TimeDelta) -> String {
    let total = duration.num_seconds().max(0);
    let units = [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)];
    let parts: Vec<String> = units
        .iter()
        .scan(total, |rest, (name, size)| {
            let count = *rest / size;
            *rest %= size;
            Some((count, name))
        })
        .skip_while(|(count, _)| *count == 0)
        .take(2)
        .filter(|(count, _)| *count > 0)
        .map(|(count, name)| format!("{count} {name}"))
        .collect();
    if parts.is_empty() { "0 s".to_string() } else { parts.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::format_duration;
    use chrono::TimeDelta;

    #[test]
    fn durations_read_like_people_say_them() {
        let cases = [
            (0, "0 s"),
            (-5, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (61, "1 min 1 s"),
            (3_600, "1 h"),
            (3_660, "1 h 1 min"),
            (3_601, "1 h"),
            (86_400 * 3 + 3_600 * 4 + 59, "3 d 4 h"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(format_duration(TimeDelta::seconds(seconds)), expected, "{seconds} s");
        }
    }
}
