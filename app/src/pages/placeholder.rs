//! Pages that have a place in the navigation but whose capability has not been built yet. Each says what it
//! will be for, so nobody mistakes it for a broken page, and is already guarded by the role it will need.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::Role;
use crate::components::session::RequireRole;

#[component]
fn Placeholder(title: &'static str, purpose: &'static str, role: Role) -> impl IntoView {
    view! {
        <Title text=title />
        <RequireRole role>
            <section class="page">
                <h1>{title}</h1>
                <p>{purpose}</p>
                <p class="notice">"Not available yet."</p>
            </section>
        </RequireRole>
    }
}

#[component]
pub fn NewRequestPage() -> impl IntoView {
    view! {
        <Placeholder
            title="New request"
            purpose="Ask for a namespace of your own: its name, what it is for, and whether it needs a Tiller."
            role=Role::Developer
        />
    }
}

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    view! {
        <Placeholder
            title="My requests"
            purpose="Your namespace requests, their status, and the kubeconfigs of the ones granted."
            role=Role::Developer
        />
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <Placeholder
            title="Approvals"
            purpose="Requests waiting for a decision, with everything needed to approve or deny them."
            role=Role::Approver
        />
    }
}
