//! What an island does once its action succeeded. The page around an island is server-rendered HTML that no
//! island owns, so an island that changed the record a page shows loads the page again (the same answer a
//! browser without JavaScript gets after its form post), except in the approval queue, where the decided card
//! leaves the list and a status line says what happened, so the approver keeps their place.

use leptos::prelude::*;

use crate::error::ApiError;

/// Loads the page again once `outcome` (a `ServerAction`'s value) is a success. The browser keeps the scroll
/// position. Effects run in the browser only.
pub fn reload_after_success<T: 'static>(outcome: impl With<Value = Option<Result<T, ApiError>>> + 'static) {
    Effect::new(move |_| {
        if outcome.with(|value| matches!(value, Some(Ok(_)))) {
            reload_page();
        }
    });
}

pub fn reload_page() {
    _ = window().location().reload();
}

/// Provided by the [`DecisionQueue`] island around a list of things waiting for a decision.
#[derive(Clone, Copy)]
struct Queue {
    flash: RwSignal<Option<String>>,
}

/// A list of cards waiting for a decision (the `children`, rendered on the server): the decision islands
/// inside remove their card once decided and say so in the status line above the list.
#[island]
pub fn DecisionQueue(children: Children) -> impl IntoView {
    let flash = RwSignal::new(None::<String>);
    provide_context(Queue { flash });
    view! {
        <p class="flash" role="status" data-testid="flash">{move || flash.get()}</p>
        {children()}
    }
}

/// After a decision succeeded: in a [`DecisionQueue`], the card holding `inside` (its `<li>`) leaves the list
/// and `message` shows in the queue's status line; anywhere else the page loads again.
pub fn decided(inside: Option<leptos::web_sys::Element>, message: String) {
    match use_context::<Queue>() {
        Some(queue) => {
            if let Some(card) = inside.and_then(|element| element.closest("li").ok().flatten()) {
                card.remove();
            }
            queue.flash.set(Some(message));
        }
        None => reload_page(),
    }
}
