//! For admins: what the running server says about itself (version, uptime, installation), asked again on
//! demand.

use leptos::prelude::*;
use leptos::server_fn::ServerFn as _;
use leptos_meta::Title;

use crate::api::server_info::{GetServerInfo, get_server_info};
use crate::components::error_view::loaded;
use crate::components::forms::{AfterSuccess, EnhancedForm};
use crate::components::session::RequireRole;
use crate::policy::UseCase;
use crate::system::ServerInfo;

#[component]
pub fn ServerPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| get_server_info());
    view! {
        <Title text="Server" />
        <RequireRole use_case=UseCase::ViewServerStatus>
            <section class="page">
                <h1>"Server"</h1>
                <Suspense fallback=|| view! { <p class="muted">"Asking the server…"</p> }>
                    {move || Suspend::new(async move { loaded(info.await, |info| view! { <ServerStatus info /> }) })}
                </Suspense>
            </section>
        </RequireRole>
    }
}

/// The facts, with "Check again": asks the server function again and shows the page anew (a plain form post
/// without JavaScript, which the server answers by sending the browser back here).
#[component]
fn ServerStatus(info: ServerInfo) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="status-heading">
            <h2 id="status-heading">"Status"</h2>
            <Facts info />
            <EnhancedForm action=GetServerInfo::url() after=AfterSuccess::Reload>
                <button type="submit" class="button">"Check again"</button>
            </EnhancedForm>
        </section>
    }
}

#[component]
fn Facts(info: ServerInfo) -> impl IntoView {
    view! {
        <dl class="facts" data-testid="server-status">
            <dt>"Version"</dt>
            <dd data-testid="version">{info.version}</dd>
            <dt>"Running since"</dt>
            <dd>
                <time datetime=info.started_at.as_rfc3339().to_string() data-testid="started-at">
                    {info.started_at.to_second()}
                </time>
                {format!(" ({})", format_duration(info.uptime_seconds))}
            </dd>
            <dt>"Answered at"</dt>
            <dd>
                <time datetime=info.answered_at.as_rfc3339().to_string() data-testid="answered-at">
                    {info.answered_at.to_second()}
                </time>
            </dd>
            <dt>"Installation"</dt>
            <dd><code>{info.installation_id}</code></dd>
        </dl>
    }
}

/// A duration the way people say it: the two largest units, e.g. "3 d 4 h" or "12 min 5 s".
pub fn format_duration(seconds: u64) -> String {
    let units = [("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1)];
    let parts: Vec<String> = units
        .iter()
        .scan(seconds, |rest, (name, size)| {
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

    #[test]
    fn durations_read_like_people_say_them() {
        let cases = [
            (0, "0 s"),
            (59, "59 s"),
            (60, "1 min"),
            (61, "1 min 1 s"),
            (3_600, "1 h"),
            (3_660, "1 h 1 min"),
            (3_601, "1 h"),
            (86_400 * 3 + 3_600 * 4 + 59, "3 d 4 h"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(format_duration(seconds), expected, "{seconds} s");
        }
    }
}
