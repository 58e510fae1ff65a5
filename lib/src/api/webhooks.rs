//! The webhook API's routes, every one behind the [`WebhookGate`]
//! (signature or API key) and, inside it, the `Idempotency-Key` layer.
//! `openapi.yaml` at the repository root documents them; the tests hold
//! the routes to it.
//!
//! | route | handler |
//! | --- | --- |
//! | `GET`, `POST /api/notify` | [`notify`]: an activity to a target |
//! | `POST /api/jobs/{id}/complete` | [`jobs`]: complete a job, tell its owner |
//! | `POST /api/reminders` | [`reminders`]: set a reminder |
//! | `GET /api/notifications/{id}` | [`notifications`]: delivery progress |
//! | `PATCH`, `DELETE /api/notifications/{id}` | [`notifications`]: edit or recall what it sent |
//! | `GET /api/conversations` | [`conversations`]: stored references |

use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;

use super::{
    conversations, idempotency, jobs, notifications, notify, reminders, AppState, WebhookGate,
};

pub fn routes(state: AppState, gate: &WebhookGate) -> Router {
    let routes = Router::new()
        .route("/api/notify", get(notify::notify).post(notify::notify))
        .route("/api/jobs/{id}/complete", post(jobs::complete))
        .route("/api/reminders", post(reminders::create))
        .route(
            "/api/notifications/{id}",
            get(notifications::status)
                .patch(notifications::edit)
                .delete(notifications::recall),
        )
        .route("/api/conversations", get(conversations::list))
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotent));
    gate.protect(routes, state.store.clone()).with_state(state)
}
