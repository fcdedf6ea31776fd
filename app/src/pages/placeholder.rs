//! Pages that have a place in the navigation but whose capability has not been built yet. Each says what it
//! will be for, so nobody mistakes it for a broken page.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
fn Placeholder(title: &'static str, purpose: &'static str) -> impl IntoView {
    view! {
        <Title text=title />
        <section class="page">
            <h1>{title}</h1>
            <p>{purpose}</p>
            <p class="notice">"Not available yet."</p>
        </section>
    }
}

#[component]
pub fn NewRequestPage() -> impl IntoView {
    view! {
        <Placeholder
            title="New request"
            purpose="Ask for a namespace of your own: its name, what it is for, and whether it needs a Tiller."
        />
    }
}

#[component]
pub fn MyRequestsPage() -> impl IntoView {
    view! {
        <Placeholder
            title="My requests"
            purpose="Your namespace requests, their status, and the kubeconfigs of the ones granted."
        />
    }
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    view! {
        <Placeholder
            title="Approvals"
            purpose="Requests waiting for a decision, with everything needed to approve or deny them."
        />
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    view! {
        <Placeholder
            title="Admin"
            purpose="Every namespace and credential Berth has handed out, revocation, and the audit log."
        />
    }
}
