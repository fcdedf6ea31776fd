//! What the page does once a form's action succeeded (see `components::forms`). The page around an island
//! is server-rendered HTML that no island owns, so a form that changed the record a page shows loads the page
//! again (the same answer a browser without JavaScript gets after its form post), except in the approval
//! queue, where the decided card leaves the list and a status line says what happened, so the approver keeps
//! their place and their half-typed reasons on the other cards.

use leptos::prelude::*;

pub fn reload_page() {
    _ = window().location().reload();
}

/// Provided by the [`DecisionQueue`] island around a list of things waiting for a decision.
#[derive(Clone, Copy)]
struct Queue {
    flash: RwSignal<Option<String>>,
}

/// A list of cards waiting for a decision (the `children`, rendered on the server), with the status line
/// that says what was decided.
#[island]
pub fn DecisionQueue(children: Children) -> impl IntoView {
    let flash = RwSignal::new(None::<String>);
    provide_context(Queue { flash });
    view! {
        <p class="flash" role="status" data-testid="flash">{move || flash.get()}</p>
        {children()}
    }
}

/// The card (`<li>`) holding `inside` leaves the queue and `message` shows in its status line; outside a
/// [`DecisionQueue`] (a request's own page) the page loads again.
pub fn leave_queue(inside: &leptos::web_sys::Element, message: String) {
    match use_context::<Queue>() {
        Some(queue) => {
            if let Ok(Some(card)) = inside.closest("li") {
                card.remove();
            }
            queue.flash.set(Some(message));
        }
        None => reload_page(),
    }
}
