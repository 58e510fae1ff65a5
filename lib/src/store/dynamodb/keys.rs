//! The table's vocabulary: attribute names, index names, and how each
//! record's keys are spelled.
//!
//! Everything that decides where an item lives, or in what order an index
//! returns it, is here, so the layout described in [`super`] can be checked
//! against one page of code (and against `template.yaml`, which declares the
//! same names).

use jiff::Timestamp;

use crate::ids::{short_hash, ConversationKey, IdempotencyKey, JobId, NotificationId, ReminderId};

/// Partition key of the table.
pub const PK: &str = "pk";
/// Sort key of the table.
pub const SK: &str = "sk";

/// The JSON of the record, whole: nothing a channel sent is lost.
pub const BODY: &str = "body";
/// Counts writes to an item; conditional writes compare it.
pub const REV: &str = "rev";
/// The record's status (jobs, reminders, deliveries), for conditions.
pub const STATUS: &str = "status";
/// A reminder's due time in nanoseconds, for `advance_reminder`'s condition.
pub const DUE: &str = "due";
/// Epoch seconds after which DynamoDB may delete the item (the table's TTL
/// attribute).
pub const EXPIRES_AT: &str = "expires_at";
/// A subscription counter's count (`counters`).
pub const COUNT: &str = "n";

/// An index of the table: its name and key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    /// The index's name.
    pub name: &'static str,
    /// Its partition key attribute.
    pub pk: &'static str,
    /// Its sort key attribute.
    pub sk: &'static str,
    /// Whether the index holds only keys (its queries need nothing else).
    pub keys_only: bool,
}

/// Ordered listings: references by key, a tag's subscribers by key, jobs by
/// creation time, a conversation's pending reminders by due time.
pub const LISTING: Index = Index {
    name: "listing",
    pk: "listing_pk",
    sk: "listing_sk",
    keys_only: false,
};

/// Every subscription, under its conversation's key: "every conversation
/// subscribed to anything".
pub const SUBSCRIBED: Index = Index {
    name: "subscribed",
    pk: "subscribed_pk",
    sk: "subscribed_sk",
    keys_only: true,
};

/// Pending reminders by due time. Sparse: only pending reminders carry its
/// keys, so a query reads due reminders and nothing else.
pub const DUE_INDEX: Index = Index {
    name: "due",
    pk: "due_pk",
    sk: "due_sk",
    keys_only: false,
};

/// Active conversations by the user their reference names:
/// `USER#{channelId}#{userId}` → conversation key. Sparse: a reference
/// carries its keys only while it is active and names a user.
pub const USERS: Index = Index {
    name: "user",
    pk: "user_pk",
    sk: "user_sk",
    keys_only: true,
};

/// Every index the table has (`template.yaml` declares the same).
pub const INDEXES: [Index; 4] = [LISTING, SUBSCRIBED, DUE_INDEX, USERS];

/// How many partitions each sharded index spreads its items over. Writes
/// never pile onto one hot partition; a listing reads every shard and
/// merges. Changing it strands existing items: it is part of the layout.
pub const SHARDS: u64 = 8;

/// The sort key of a conversation's reference item.
pub const REFERENCE_SK: &str = "REF";
/// The sort key of a job's item.
pub const JOB_SK: &str = "JOB";
/// The sort key of a reminder's item.
pub const REMINDER_SK: &str = "REMINDER";
/// The sort key of a delivery record's item.
pub const DELIVERY_SK: &str = "DELIVERY";
/// The sort key of an idempotency record's item.
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
/// The sort key of an accepted notification's item.
pub const ACCEPTED_SK: &str = "ACCEPTED";
/// The sort key of a remembered signed webhook request.
pub const SIGNATURE_SK: &str = "SIGNATURE";
/// The sort key of a directory entry (a Teams tenant or user).
pub const DIRECTORY_SK: &str = "DIRECTORY";
/// Sort keys of a conversation's subscriptions start with this.
pub const SUBSCRIPTION_PREFIX: &str = "SUB#";
/// The sort key of a conversation's count of its own subscriptions (which
/// does not start with [`SUBSCRIPTION_PREFIX`]).
pub const SUBSCRIPTION_COUNT_SK: &str = "SUBCOUNT";
/// The sort key of every counter shard (`counters`).
pub const COUNTER_SK: &str = "COUNT";

/// Separates a conversation key from a tag in [`SUBSCRIBED`]'s sort key. It
/// is a control character, which ids never contain, and sorts below every
/// character they may contain, so a conversation's subscriptions sort
/// together and in the order of its key.
const TAG_SEPARATOR: char = '\u{1}';

/// The shard of an item, from a stable hash of `of`.
pub fn shard(of: &str) -> u64 {
    u64::from_str_radix(&short_hash(of), 16).unwrap_or_default() % SHARDS
}

/// Every shard's partition key value for a sharded index, `{prefix}{n}`.
pub fn shards(prefix: &str) -> impl Iterator<Item = String> + '_ {
    (0..SHARDS).map(move |n| format!("{prefix}{n}"))
}

/// A timestamp as a string that sorts like the time: nanoseconds since the
/// epoch, offset so every instant jiff can hold is positive, zero-padded to
/// one width.
pub fn sortable(at: Timestamp) -> String {
    const OFFSET: i128 = 1_000_000_000_000_000_000_000;
    format!("{:022}", at.as_nanosecond() + OFFSET)
}

/// The partition of a conversation's items (its reference, its subscriptions).
pub fn conversation_pk(key: &ConversationKey) -> String {
    format!("CONV#{key}")
}

/// The partition of a job's item.
pub fn job_pk(id: &JobId) -> String {
    format!("JOB#{id}")
}

/// The partition of a reminder's item.
pub fn reminder_pk(id: &ReminderId) -> String {
    format!("REMINDER#{id}")
}

/// The partition of a delivery record's item.
pub fn delivery_pk(id: &NotificationId) -> String {
    format!("DELIVERY#{id}")
}

/// The partition of an idempotency record's item.
pub fn idempotency_pk(key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#{key}")
}

/// A signed webhook request's digest (64 hex), in the replay cache.
pub fn signature_pk(digest: &str) -> String {
    format!("SIGNATURE#{digest}")
}

/// The partition of an accepted notification's item.
pub fn accepted_pk(id: &NotificationId) -> String {
    format!("NOTIFICATION#{id}")
}

/// The partition of a directory entry.
pub fn directory_pk(key: &crate::store::DirectoryKey) -> String {
    format!("DIRECTORY#{}", key.encoded())
}

/// [`USERS`] partition of one user's conversations.
pub fn user_partition(channel_id: &str, user_id: &str) -> String {
    format!("USER#{channel_id}#{user_id}")
}

/// [`LISTING`] partition prefix of one fan-out's child deliveries; the
/// shard follows.
pub fn children_partition(parent: &NotificationId) -> String {
    format!("KIDS#{parent}#")
}

/// The general list is the empty tag, as in the embedded store.
pub fn tag_name(tag: Option<&str>) -> &str {
    tag.unwrap_or_default()
}

/// The sort key of a subscription to `tag` in its conversation's partition.
pub fn subscription_sk(tag: &str) -> String {
    format!("{SUBSCRIPTION_PREFIX}{tag}")
}

/// [`LISTING`] partition of all references (one of [`SHARDS`]).
pub const REFERENCES: &str = "REFS#";
/// [`SUBSCRIBED`] partition (one of [`SHARDS`]).
pub const SUBSCRIPTIONS: &str = "SUBS#";
/// [`DUE_INDEX`] partition (one of [`SHARDS`]).
pub const DUE_REMINDERS: &str = "DUE#";

/// [`LISTING`] partition prefix of one tag's subscribers; the shard follows.
pub fn tag_partition(tag: &str) -> String {
    format!("TAG#{tag}#")
}

/// Counter partition prefix of one tag's subscribers; the shard follows.
pub fn tag_count_partition(tag: &str) -> String {
    format!("COUNT#TAG#{tag}#")
}

/// Counter partition prefix of the conversations subscribed to anything;
/// the shard follows.
pub const SUBSCRIBED_COUNT: &str = "COUNT#SUBSCRIBED#";

/// Counter partition prefix of one fan-out's child deliveries by status;
/// the shard follows.
pub fn children_count_partition(parent: &NotificationId) -> String {
    format!("COUNT#KIDS#{parent}#")
}

/// [`LISTING`] partition of one conversation's pending reminders.
pub fn owner_partition(owner: &ConversationKey) -> String {
    format!("OWNER#{owner}")
}

/// `prefix` followed by the shard `of` falls in (one of [`SHARDS`]).
pub fn sharded(prefix: &str, of: &str) -> String {
    format!("{prefix}{}", shard(of))
}

/// [`SUBSCRIBED`] sort key of one subscription.
pub fn subscribed_sk(key: &ConversationKey, tag: &str) -> String {
    format!("{key}{TAG_SEPARATOR}{tag}")
}

/// The conversation key a [`SUBSCRIBED`] sort key starts with.
pub fn key_of_subscribed_sk(sk: &str) -> &str {
    sk.split_once(TAG_SEPARATOR).map_or(sk, |(key, _)| key)
}

/// The smallest [`SUBSCRIBED`] sort key after every subscription of `key`
/// and before every subscription of a later key.
pub fn subscribed_after(key: &ConversationKey) -> String {
    format!("{key}\u{2}")
}

/// [`LISTING`] / [`DUE_INDEX`] sort key of a timed item: time, then id to
/// break ties.
pub fn timed_sk(at: Timestamp, id: &str) -> String {
    format!("{}#{id}", sortable(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_times_sort_like_the_times() {
        let times = [
            Timestamp::MIN,
            Timestamp::from_second(-1).unwrap(),
            Timestamp::UNIX_EPOCH,
            Timestamp::from_nanosecond(1).unwrap(),
            Timestamp::from_second(1_700_000_000).unwrap(),
            Timestamp::MAX,
        ];
        let encoded: Vec<String> = times.iter().map(|t| sortable(*t)).collect();
        assert!(encoded.windows(2).all(|w| w[0] < w[1]), "{encoded:?}");
        assert!(encoded.iter().all(|e| e.len() == 22), "{encoded:?}");
    }

    #[test]
    fn subscriptions_sort_by_conversation_key_and_cursors_fall_between() {
        let key = |s: &str| s.parse::<ConversationKey>().unwrap();
        let (a, ab) = (key("x#a"), key("x#a b"));
        let items = [
            subscribed_sk(&a, ""),
            subscribed_sk(&a, "zzz"),
            subscribed_sk(&ab, ""),
        ];
        assert!(items.windows(2).all(|w| w[0] < w[1]));
        let after_a = subscribed_after(&a);
        assert!(items[1] < after_a && after_a < items[2]);
        assert_eq!(key_of_subscribed_sk(&items[1]), "x#a");
    }

    #[test]
    fn shards_are_stable_and_in_range() {
        assert_eq!(shard("emulator#c1"), shard("emulator#c1"));
        assert!((0..100).all(|n| shard(&format!("k{n}")) < SHARDS));
        let used: std::collections::BTreeSet<u64> =
            (0..100).map(|n| shard(&format!("k{n}"))).collect();
        assert_eq!(used.len() as u64, SHARDS, "keys spread over every shard");
    }
}
