//! Notifications: an outgoing webhook told when a request is submitted and when it is decided.
//!
//! The body is Slack's incoming-webhook format (`{"text": ...}` with `<url|label>` links), which Mattermost,
//! Rocket.Chat and many bridges also accept. Delivery happens in the background after the change is
//! committed: a slow or failing webhook never delays or undoes the workflow. Each notification is retried
//! with exponential backoff and logged when it finally fails. Notifications are kept in memory only, so
//! those not yet delivered when Berth stops are lost (logged at shutdown as dropped by the runtime).

use std::sync::Arc;
use std::time::Duration;

use app::requests::RequestSummary;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, mpsc};
use url::Url;

use crate::clock::Clock;
use crate::config::NotificationsConfig;
use crate::telemetry::error_chain;

/// Notifications waiting for delivery beyond this are dropped (and logged): memory stays bounded when the
/// webhook is down for long.
const QUEUE_CAPACITY: usize = 1_000;
/// Deliveries in flight at once.
const CONCURRENT_DELIVERIES: usize = 8;
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Something worth telling the team about.
#[derive(Debug, Clone)]
pub enum Notice {
    Submitted(RequestSummary),
    Decided {
        request: RequestSummary,
        approved: bool,
        by: String,
        reason: Option<String>,
    },
    /// Provisioned: the requester can download kubeconfigs.
    Ready(RequestSummary),
    /// Provisioning stopped on the cluster's error; an admin can retry.
    Failed(RequestSummary),
    /// The grant ends soon (the owner is told once, ahead of time).
    ExpiringSoon(RequestSummary),
    /// The grant's lifetime ended; its access is being taken away.
    Expired(RequestSummary),
    /// Nobody decided the request in time; its name is free again.
    Lapsed {
        request: RequestSummary,
        days: u32,
    },
    /// The owner of a ready grant asked for more time; an approver decides.
    ChangeAsked {
        request: RequestSummary,
        /// What it asks for, in words ("30 more days, quota profile medium").
        change: String,
        reason: String,
    },
    ChangeDecided {
        request: RequestSummary,
        approved: bool,
        /// A person's name, or the rule's (`Rule "..."`).
        by: String,
        /// What was asked for, in words.
        change: String,
        reason: Option<String>,
    },
}

/// Hands notices to the delivery task. Cheap to clone; does nothing when no webhook is configured.
#[derive(Clone)]
pub struct Notifier {
    queue: Option<mpsc::Sender<serde_json::Value>>,
    public_url: Url,
}

impl Notifier {
    /// Starts the delivery task if a webhook is configured. Needs a Tokio runtime.
    pub fn start(config: &NotificationsConfig, public_url: &Url, clock: Clock) -> anyhow::Result<Self> {
        let Some(webhook) = config.webhook_url.clone() else {
            return Ok(Self { queue: None, public_url: public_url.clone() });
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_seconds))
            // The webhook's URL is a secret: never follow it elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let delivery = Delivery {
            client,
            webhook,
            max_attempts: config.max_attempts,
            clock,
            initial_backoff: Duration::from_millis(config.initial_backoff_ms),
        };
        tokio::spawn(deliver_all(Arc::new(delivery), receiver));
        Ok(Self { queue: Some(sender), public_url: public_url.clone() })
    }

    /// Queues `notice` for delivery; never waits.
    pub fn send(&self, notice: &Notice) {
        let Some(queue) = &self.queue else { return };
        if queue.try_send(serde_json::json!({ "text": self.text(notice) })).is_err() {
            tracing::warn!("notification dropped: the webhook queue is full (is the webhook down?)");
        }
    }

    /// The message, with user-supplied text made inert so it cannot inject links or mentions.
    pub fn text(&self, notice: &Notice) -> String {
        match notice {
            Notice::Submitted(request) => format!(
                "{requester} requested namespace {link} ({stage}, {helm}, quota {quota}, {days} days): {purpose}",
                requester = inert(&request.requester.display_name),
                link = self.link(request),
                stage = inert(&request.stage),
                helm = request.helm_mode.label(),
                quota = inert(&request.quota_profile),
                days = request.lifetime_days,
                purpose = inert(&request.purpose),
            ),
            Notice::Decided { request, approved, by, reason } => {
                let verb = if *approved { "approved" } else { "denied" };
                let mut text = format!(
                    "{by} {verb} namespace {link}, requested by {requester}",
                    by = inert(by),
                    link = self.link(request),
                    requester = inert(&request.requester.display_name),
                );
                if let Some(reason) = reason {
                    text.push_str(": ");
                    text.push_str(&inert(reason));
                }
                text
            }
            Notice::Ready(request) => format!(
                "Namespace {link} is ready: {requester} can download a kubeconfig from its page",
                link = self.link(request),
                requester = inert(&request.requester.display_name),
            ),
            Notice::ExpiringSoon(request) => format!(
                "Access to namespace {link} ends {at}: {requester}, ask for an extension on its page if you still need it",
                link = self.link(request),
                at = request.expires_at.map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default(),
                requester = inert(&request.requester.display_name),
            ),
            Notice::Expired(request) => format!(
                "Namespace {link} of {requester} reached the end of its lifetime; its access is being removed",
                link = self.link(request),
                requester = inert(&request.requester.display_name),
            ),
            Notice::Lapsed { request, days } => format!(
                "The request of {requester} for namespace {link} lapsed: nobody decided it within {days} days",
                requester = inert(&request.requester.display_name),
                link = self.link(request),
            ),
            Notice::ChangeAsked { request, change, reason } => format!(
                "{requester} asks for {change} on namespace {link}: {reason}",
                requester = inert(&request.requester.display_name),
                change = inert(change),
                link = self.link(request),
                reason = inert(reason),
            ),
            Notice::ChangeDecided { request, approved, by, change, reason } => {
                let verb = if *approved { "approved" } else { "refused" };
                let mut text = format!(
                    "{by} {verb} {change} on namespace {link} of {requester}",
                    by = inert(by),
                    change = inert(change),
                    link = self.link(request),
                    requester = inert(&request.requester.display_name),
                );
                if let Some(reason) = reason {
                    text.push_str(": ");
                    text.push_str(&inert(reason));
                }
                text
            }
            Notice::Failed(request) => format!(
                "Provisioning namespace {link} failed; an admin can retry it from its page: {error}",
                link = self.link(request),
                error = inert(request.last_error.as_deref().unwrap_or("no message")),
            ),
        }
    }

    fn link(&self, request: &RequestSummary) -> String {
        let url = self.public_url.join(&format!("requests/{}", request.id)).map(String::from).unwrap_or_default();
        format!("<{url}|{}>", inert(&request.namespace))
    }
}

/// What people typed, made inert in a chat message: Slack's escaping (`&`, `<` and `>` are its markup, so no
/// `<url|label>` link and no `<!channel>`); every `@` shown as a full-width `＠`, so no `@channel`, `@here`
/// or `@someone` pings anyone (Mattermost and Rocket.Chat read them in plain text); `://` shown as `[:]//`,
/// so no URL becomes a link; and `](` broken up, so no Markdown link (Mattermost renders Markdown).
fn inert(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "＠")
        .replace("://", "[:]//")
        .replace("](", "] (")
}

struct Delivery {
    client: reqwest::Client,
    webhook: SecretString,
    max_attempts: u32,
    initial_backoff: Duration,
    clock: Clock,
}

async fn deliver_all(delivery: Arc<Delivery>, mut queue: mpsc::Receiver<serde_json::Value>) {
    let slots = Arc::new(Semaphore::new(CONCURRENT_DELIVERIES));
    while let Some(body) = queue.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let delivery = delivery.clone();
        tokio::spawn(async move {
            delivery.deliver(&body).await;
            drop(slot);
        });
    }
}

impl Delivery {
    async fn deliver(&self, body: &serde_json::Value) {
        let mut backoff = self.initial_backoff;
        for attempt in 1..=self.max_attempts {
            let outcome = self.client.post(self.webhook.expose_secret()).json(body).send().await;
            // Never log the URL: it is the webhook's credential.
            let failure = match outcome {
                Ok(response) if response.status().is_success() => {
                    tracing::debug!(attempt, "notification delivered");
                    return;
                }
                Ok(response) => format!("the webhook answered {}", response.status()),
                Err(error) => error_chain(&error.without_url()),
            };
            if attempt == self.max_attempts {
                tracing::error!(attempts = attempt, error = %failure, "notification given up");
                return;
            }
            tracing::warn!(attempt, retry_in_ms = backoff.as_millis() as u64, error = %failure, "notification failed; will retry");
            self.clock.sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::requests::{HelmMode, PersonRef, RequestState};

    fn request(purpose: &str) -> RequestSummary {
        RequestSummary {
            id: "r1".into(),
            namespace: "team-a-ci".into(),
            purpose: purpose.into(),
            stage: "test".into(),
            helm_mode: HelmMode::Tiller,
            quota_profile: "small".into(),
            lifetime_days: 30,
            requester: PersonRef { display_name: "Alice <@here>".into(), email: None },
            team: None,
            state: RequestState::Pending,
            created_at: crate::clock::Clock::system().now(),
            updated_at: crate::clock::Clock::system().now(),
            decision: None,
            progress: None,
            last_error: None,
            ready_at: None,
            expires_at: None,
            expiry_warned: false,
            change: None,
            namespace_deletion: None,
        }
    }

    fn notifier() -> Notifier {
        Notifier { queue: None, public_url: Url::parse("https://berth.example.com").unwrap() }
    }

    #[test]
    fn a_submission_links_back_to_the_request_and_escapes_what_people_typed() {
        let text = notifier().text(&Notice::Submitted(request("CI for <https://evil.example|click> & more")));
        assert!(
            text.starts_with(
                "Alice &lt;＠here&gt; requested namespace <https://berth.example.com/requests/r1|team-a-ci>"
            ),
            "{text}"
        );
        assert!(text.contains("&lt;https[:]//evil.example|click&gt; &amp; more"), "{text}");
        assert!(text.contains("test, Helm 2 with a Tiller in the namespace, quota small, 30 days"), "{text}");
    }

    #[test]
    fn an_extension_ask_and_its_refusal_escape_what_people_typed() {
        let asked = Notice::ChangeAsked {
            request: request("x"),
            change: "30 more days".into(),
            reason: "<!channel> release".into(),
        };
        assert_eq!(
            notifier().text(&asked),
            "Alice &lt;＠here&gt; asks for 30 more days on namespace <https://berth.example.com/requests/r1|team-a-ci>: \
             &lt;!channel&gt; release"
        );
        let refused = Notice::ChangeDecided {
            request: request("x"),
            approved: false,
            by: "Bob".into(),
            change: "quota profile large".into(),
            reason: Some("Move to the shared namespace".into()),
        };
        assert!(notifier().text(&refused).starts_with("Bob refused quota profile large on namespace"));
        assert!(notifier().text(&refused).ends_with("of Alice &lt;＠here&gt;: Move to the shared namespace"));
    }

    #[test]
    fn typed_text_cannot_mention_everyone_or_smuggle_a_link() {
        let text = notifier().text(&Notice::Submitted(request(
            "@channel @here ping, see [the docs](https://evil.example/login) or http://evil.example",
        )));
        let purpose = text.split_once("days): ").map(|(_, p)| p).unwrap();
        for live in ["@channel", "@here", "](https://", "http://", "https://evil"] {
            assert!(!purpose.contains(live), "{live} in {purpose}");
        }
        assert!(purpose.contains("＠channel ＠here ping, see [the docs] (https[:]//evil.example/login)"), "{purpose}");
    }

    #[test]
    fn a_denial_says_who_denied_and_why() {
        let notice = Notice::Decided {
            request: request("x"),
            approved: false,
            by: "Bob".into(),
            reason: Some("Use the shared CI namespace".into()),
        };
        let text = notifier().text(&notice);
        assert_eq!(
            text,
            "Bob denied namespace <https://berth.example.com/requests/r1|team-a-ci>, requested by Alice &lt;＠here&gt;: \
             Use the shared CI namespace"
        );
    }
}
