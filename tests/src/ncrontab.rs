//! Six-field NCRONTAB, as the Functions timer trigger reads it
//! (`{second} {minute} {hour} {day} {month} {day-of-week}`), expanded to
//! the values each field allows, to check a schedule says what it means.
//! Our own: no crate reads the six-field form with names.

use std::collections::BTreeSet;

/// The values each field of a schedule allows, in field order.
pub type Fields = [BTreeSet<u32>; 6];

const RANGES: [(u32, u32); 6] = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Expands `schedule`, or says what is wrong with it.
pub fn expand(schedule: &str) -> Result<Fields, String> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != 6 {
        return Err(format!("{} fields, not 6: {schedule:?}", fields.len()));
    }
    let mut out: Fields = Default::default();
    for (n, field) in fields.iter().enumerate() {
        for item in field.split(',') {
            out[n].extend(item_values(item, n)?);
        }
    }
    Ok(out)
}

fn item_values(item: &str, field: usize) -> Result<Vec<u32>, String> {
    let (low, high) = RANGES[field];
    let (range, step) = match item.split_once('/') {
        Some((range, step)) => (
            range,
            step.parse::<u32>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("bad step in {item:?}"))?,
        ),
        None => (item, 1),
    };
    let (from, to) = if range == "*" {
        (low, high)
    } else if let Some((a, b)) = range.split_once('-') {
        (value(a, field)?, value(b, field)?)
    } else {
        let v = value(range, field)?;
        (v, if item.contains('/') { high } else { v })
    };
    if from > to || from < low || to > high {
        return Err(format!("{item:?} is outside {low}-{high}"));
    }
    Ok((from..=to).step_by(step as usize).collect())
}

fn value(text: &str, field: usize) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    let named = match field {
        4 => MONTHS
            .iter()
            .position(|m| *m == lower)
            .map(|i| i as u32 + 1),
        5 => DAYS.iter().position(|d| *d == lower).map(|i| i as u32),
        _ => None,
    };
    named
        .or_else(|| text.parse().ok())
        .ok_or_else(|| format!("{text:?} is not a value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_expand_as_the_trigger_reads_them() {
        let every_minute = expand("0 * * * * *").unwrap();
        assert_eq!(every_minute[0], BTreeSet::from([0]));
        assert_eq!(every_minute[1].len(), 60);
        let weekdays = expand("30 */15 9-17 * Jan,jul mon-fri").unwrap();
        assert_eq!(weekdays[1], BTreeSet::from([0, 15, 30, 45]));
        assert_eq!(weekdays[4], BTreeSet::from([1, 7]));
        assert_eq!(weekdays[5], BTreeSet::from([1, 2, 3, 4, 5]));
        assert!(
            expand("* * * * *").is_err(),
            "five fields is the other cron"
        );
        assert!(expand("60 * * * * *").is_err());
        assert!(expand("0 * * * * funday").is_err());
    }
}
