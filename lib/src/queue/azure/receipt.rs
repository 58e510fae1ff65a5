//! What the port calls a receipt, in Azure's terms: the message id and the
//! pop receipt of one receive, which together update or delete it.

/// Joins the two; neither a message id (a GUID) nor a pop receipt
/// (base64) contains the separator.
pub fn join(message_id: &str, pop_receipt: &str) -> String {
    format!("{message_id}{SEPARATOR}{pop_receipt}")
}

/// The message id and pop receipt of a receipt [`join`] made.
pub fn split(receipt: &str) -> Option<(&str, &str)> {
    receipt
        .split_once(SEPARATOR)
        .filter(|(id, pop)| !id.is_empty() && !pop.is_empty())
}

const SEPARATOR: char = '|';

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_splits_back_into_its_parts() {
        let receipt = join("6d3c-11ef", "AgAAAAMAAAAAAAAA/+1=");
        assert_eq!(split(&receipt), Some(("6d3c-11ef", "AgAAAAMAAAAAAAAA/+1=")));
        assert_eq!(split("no-separator"), None);
        assert_eq!(split("|pop"), None);
    }
}
