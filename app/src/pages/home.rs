//! The home page: for visitors, what Berth is for and the way in; for signed-in people, what they came for,
//! by role: a developer's namespaces (state, time left, the way to a kubeconfig) and their requests still
//! waiting; an approver's queue, oldest first; an admin's overview of every grant (figures and a chart by
//! stage) and the way to the dashboard. One server call reads it all (a few statements, see
//! `server/src/store/queue.rs`).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::requests::get_home;
use crate::auth::{Role, SessionView};
use crate::components::error_view::loaded;
use crate::components::requests::{StateBadge, minute};
use crate::components::session::use_session;
use crate::navigation::sign_in_href;
use crate::requests::{HomeQueue, Overview, RequestState, RequestSummary, time_left};

#[component]
pub fn HomePage() -> impl IntoView {
    let content = match use_session() {
        SessionView::Anonymous => view! { <Visitor /> }.into_any(),
        SessionView::NoAccess(person) => view! {
            <section class="page" data-testid="welcome">
                <h1>{format!("Welcome, {}", person.display_name)}</h1>
                <p>"None of your groups gives access to Berth yet. " <a href="/no-access">"What now?"</a></p>
            </section>
        }
        .into_any(),
        SessionView::SignedIn(person, role) => view! {
            <section class="page home" data-testid="welcome">
                <h1 class="greeting">{format!("Welcome, {}", person.display_name)}</h1>
                // What approvals by group count the person in: the groups of this sign-in.
                <p class="muted" data-testid="my-groups">
                    {format!("{} · groups at sign-in: {}", role.label(), groups_or_none(&person.groups))}
                </p>
                <SignedInHome role />
            </section>
        }
        .into_any(),
    };
    view! {
        <Title text="" />
        {content}
    }
}

fn groups_or_none(groups: &[String]) -> String {
    if groups.is_empty() { "none".to_string() } else { groups.join(", ") }
}

#[component]
fn Visitor() -> impl IntoView {
    view! {
        <section class="hero">
            <h1>"A namespace of your own, without the cluster-admin key"</h1>
            <p>
                "Ask for a Kubernetes namespace, get it approved, and download a kubeconfig that works there "
                "and nowhere else: for your laptop or for a CI server."
            </p>
        </section>
        <section class="card" aria-labelledby="welcome-heading" data-testid="welcome">
            <h2 id="welcome-heading">"Sign in to start"</h2>
            <p>"Berth uses your company account; your groups decide what you may do here."</p>
            <a class="button" rel="external" href=sign_in_href("/")>"Sign in"</a>
        </section>
    }
}

/// Everything the signed-in home page shows, read in one server call (the caller's own requests and, by role,
/// the approvals waiting and the admin overview).
#[component]
fn SignedInHome(role: Role) -> impl IntoView {
    let home = Resource::new(|| (), |_| get_home());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                loaded(home.await, move |home| {
                    let as_of = home.as_of;
                    view! {
                        {home.queue.map(|queue| view! { <ApproverQueue queue /> })}
                        {home.overview.map(|overview| view! { <AdminOverview overview /> })}
                        <DeveloperOverview grants=home.grants waiting=home.waiting as_of />
                        {role.includes(Role::Admin).then(|| view! { <AdminLinks /> })}
                    }
                })
            })}
        </Suspense>
    }
}

/// The developer's namespaces, ending soonest first, and their requests still waiting for a decision.
#[component]
fn DeveloperOverview(
    grants: Vec<RequestSummary>,
    waiting: Vec<RequestSummary>,
    as_of: chrono::DateTime<chrono::Utc>,
) -> impl IntoView {
    view! {
        <HomeCard name="access" title="Your namespaces" action=("/requests/new", "New request")>
            {grants.is_empty().then(|| view! {
                <p class="muted" data-testid="no-access">"You have no namespace at the moment."</p>
            })}
            <ul class="compact-list">
                {grants.into_iter().map(|request| view! { <GrantLine request as_of /> }).collect_view()}
            </ul>
            {(!waiting.is_empty()).then(|| view! {
                <h3>"Waiting for a decision"</h3>
                <ul class="compact-list" data-testid="home-pending">
                    {waiting.into_iter().map(|request| {
                        let detail = format!("submitted {}", minute(request.created_at));
                        view! { <WaitingLine request detail /> }
                    }).collect_view()}
                </ul>
            })}
        </HomeCard>
    }
}

/// A card of the home page: its heading with the way onward (`action`: where, what), then `children`;
/// `data-testid` is `home-{name}`.
#[component]
fn HomeCard(
    name: &'static str,
    title: &'static str,
    action: (&'static str, &'static str),
    children: Children,
) -> impl IntoView {
    let heading = format!("{name}-heading");
    view! {
        <section class="card" aria-labelledby=heading.clone() data-testid=format!("home-{name}")>
            <div class="card-heading">
                <h2 id=heading.clone()>{title}</h2>
                <a class="button" href=action.0>{action.1}</a>
            </div>
            {children()}
        </section>
    }
}

/// A request waiting for a decision: its namespace, linked to its page, and `detail` (since when, by whom).
#[component]
fn WaitingLine(request: RequestSummary, detail: String) -> impl IntoView {
    view! {
        <li>
            <a href=format!("/requests/{}", request.id) class="namespace">{request.namespace}</a>
            <span class="muted">{detail}</span>
        </li>
    }
}

/// One namespace: its state, how long its access lasts, and the way to a kubeconfig.
#[component]
fn GrantLine(request: RequestSummary, as_of: chrono::DateTime<chrono::Utc>) -> impl IntoView {
    let href = format!("/requests/{}", request.id);
    let left = request.expires_at.map(|end| format!("{} left", time_left(as_of, end)));
    let ready = request.state == RequestState::Ready;
    view! {
        <li data-testid="home-grant" data-namespace=request.namespace.clone()>
            <a href=href.clone() class="namespace">{request.namespace.clone()}</a>
            <StateBadge state=request.state />
            <span class="muted" data-testid="time-left">{left}</span>
            {ready.then(|| view! { <a href=format!("{href}#kubeconfig")>"Get a kubeconfig"</a> })}
        </li>
    }
}

/// How much waits for the approver, oldest first.
#[component]
fn ApproverQueue(queue: HomeQueue) -> impl IntoView {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let summary = format!(
        "{} and {} waiting.",
        plural(queue.requests, "request", "requests"),
        plural(queue.changes, "change", "changes")
    );
    view! {
        <HomeCard name="queue" title="Waiting for a decision" action=("/approvals", "Open approvals")>
            <p data-testid="queue-summary">{summary}</p>
            <ul class="compact-list">
                {queue.oldest.into_iter().map(|request| {
                    let detail = format!("{} · since {}", request.requester.display_name, minute(request.created_at));
                    view! { <WaitingLine request detail /> }
                }).collect_view()}
            </ul>
        </HomeCard>
    }
}

/// The states the overview's chart shows (a grant's life before it is over), each with its bar colour's class.
const CHARTED: [(RequestState, &str); 6] = [
    (RequestState::Ready, "bar-ready"),
    (RequestState::Pending, "bar-waiting"),
    (RequestState::Approved, "bar-setup"),
    (RequestState::Provisioning, "bar-setup"),
    (RequestState::Failed, "bar-failed"),
    (RequestState::Revoking, "bar-failed"),
];

/// A part of a stage's bar: its state, its colour's class, its count.
type Segment = (RequestState, &'static str, u64);

/// Every grant at a glance: key figures, and a bar per stage split by state (server-rendered SVG: no WASM).
#[component]
fn AdminOverview(overview: Overview) -> impl IntoView {
    let figure = |label: &'static str, value: u64, testid: &'static str| {
        // The number reads first (CSS puts it above); the term comes first, as a definition list wants.
        view! { <div class="figure" data-testid=testid><dt>{label}</dt><dd>{value}</dd></div> }
    };
    let figures = view! {
        <dl class="figures">
            {figure("live grants", overview.in_state(RequestState::Ready), "overview-ready")}
            {figure("waiting for a decision", overview.in_state(RequestState::Pending), "overview-pending")}
            {figure("expiring within a week", overview.expiring_within_week, "overview-expiring")}
            {figure("failed", overview.in_state(RequestState::Failed), "overview-failed")}
            {figure("revoked this week", overview.revoked_this_week, "overview-revoked")}
        </dl>
    };
    view! {
        <HomeCard name="overview" title="Overview" action=("/admin", "Every grant")>
            {figures}
            <StageChart overview />
        </HomeCard>
    }
}

/// A horizontal bar per stage, its length the stage's grants not over yet, split by state; the figures are in
/// each segment's title and in the chart's description, for screen readers.
#[component]
fn StageChart(overview: Overview) -> impl IntoView {
    // Drawn for about 320 pixels (a phone's card) and scaled up to 26rem: the text stays 11 to 16 pixels.
    const WIDTH: f64 = 320.0;
    const LABEL_WIDTH: f64 = 100.0;
    const BAR_SPACE: f64 = 185.0;
    const ROW: f64 = 26.0;
    // Each stage's bar: its charted states with their counts (states with none left out), and its length.
    let bars: Vec<(&str, Vec<Segment>, u64)> = overview
        .stages
        .iter()
        .map(|stage| {
            let segments: Vec<_> = CHARTED
                .iter()
                .filter_map(|(state, class)| {
                    let n = stage.by_state.iter().find(|(s, _)| s == state).map_or(0, |(_, n)| *n);
                    (n > 0).then_some((*state, *class, n))
                })
                .collect();
            let total = segments.iter().map(|(_, _, n)| n).sum();
            (stage.stage.as_str(), segments, total)
        })
        .collect();
    let widest = bars.iter().map(|(_, _, total)| *total).max().unwrap_or(0);
    let scale = BAR_SPACE / widest.max(1) as f64;
    let height = ROW * bars.len().max(1) as f64;
    let description = bars
        .iter()
        .map(|(stage, segments, _)| {
            let parts: Vec<String> =
                segments.iter().map(|(state, _, n)| format!("{n} {}", state.label().to_lowercase())).collect();
            if parts.is_empty() { format!("{stage}: none") } else { format!("{stage}: {}", parts.join(", ")) }
        })
        .collect::<Vec<_>>()
        .join("; ");
    let rows = bars
        .iter()
        .enumerate()
        .map(|(row, (stage, segments, total))| {
            let y = row as f64 * ROW;
            let mut x = LABEL_WIDTH;
            let segments = segments
                .iter()
                .map(|(state, class, n)| {
                    let width = *n as f64 * scale;
                    let segment = view! {
                        <rect class=*class x=x y=y + 4.0 width=width height=ROW - 8.0>
                            <title>{format!("{stage}: {n} {}", state.label().to_lowercase())}</title>
                        </rect>
                    };
                    x += width;
                    segment
                })
                .collect_view();
            view! {
                <text class="chart-label" x="0" y=y + ROW / 2.0 + 4.0>{stage.to_string()}</text>
                {segments}
                <text class="chart-total" x=x + 6.0 y=y + ROW / 2.0 + 4.0>{*total}</text>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="stage-chart">
            <svg viewBox=format!("0 0 {WIDTH} {height}") role="img" aria-labelledby="chart-title chart-desc">
                <title id="chart-title">"Grants by stage and state"</title>
                <desc id="chart-desc">{description}</desc>
                {rows}
            </svg>
            <figcaption class="legend">
                <span><i class="swatch bar-ready"></i>"ready"</span>
                <span><i class="swatch bar-waiting"></i>"waiting"</span>
                <span><i class="swatch bar-setup"></i>"being set up"</span>
                <span><i class="swatch bar-failed"></i>"failed or being revoked"</span>
            </figcaption>
        </figure>
    }
}

#[component]
fn AdminLinks() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="admin-heading">
            <h2 id="admin-heading">"Administration"</h2>
            <ul class="links">
                <li><a href="/admin">"Every grant and kubeconfig"</a></li>
                <li><a href="/admin/audit">"Audit log"</a></li>
                <li><a href="/admin/server">"Server status"</a></li>
            </ul>
        </section>
    }
}
