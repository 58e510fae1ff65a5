//! The names the Function App's files (`infra/azure`) and the handler
//! must agree on: the functions, their trigger bindings, the app setting
//! that names the queue. The artefact test checks the files against them.

/// The HTTP function: every route under `/api/`, proxied to the handler
/// as sent.
pub const MESSAGES: &str = "messages";
/// The HTTP function for `GET /healthz`.
pub const HEALTH: &str = "health";
/// The queue-triggered notifier.
pub const NOTIFIER: &str = "notifier";
/// The timer-triggered reminder tick.
pub const REMINDER: &str = "reminder";

/// The notifier's queue-trigger binding: `Data.message` of its invocations.
pub const QUEUE_BINDING: &str = "message";
/// The reminder's timer binding: `Data.timer` of its invocations.
pub const TIMER_BINDING: &str = "timer";

/// The app setting naming the notification queue (`%NUDGE_QUEUE_NAME%`
/// in the notifier's binding).
pub const QUEUE_NAME_SETTING: &str = "NUDGE_QUEUE_NAME";
/// The app setting holding the storage connection (or, with a managed
/// identity, the `AzureWebJobsStorage__accountName` family).
pub const STORAGE_SETTING: &str = "AzureWebJobsStorage";
