//! Reading settings from the environment: the [`Env`] every module's
//! settings are read from, the error a wrong value stops start-up with,
//! and the number parser they share. It sits below every module that owns
//! settings, so that [`crate::config`] can read them all without any of
//! them depending on it.

/// A setting that is present but wrong: start-up stops with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration {variable}: {problem}")]
pub struct ConfigError {
    /// The variable's name.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

/// Reads a variable; empty counts as absent.
pub trait Env {
    /// The variable's value; `None` when it is absent or empty.
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn get(&self, name: &str) -> Option<String> {
        Pairs(self).get(name)
    }
}

/// Name-value pairs of any length as an [`Env`] (tests and tools build
/// their settings this way).
pub struct Pairs<'a>(pub &'a [(&'a str, &'a str)]);

impl Env for Pairs<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
            .filter(|v| !v.trim().is_empty())
    }
}

/// The variable's value, or an error saying it is required for `what`.
#[cfg(any(feature = "aws", feature = "azure"))]
pub(crate) fn required(
    env: &dyn Env,
    variable: &'static str,
    what: &str,
) -> Result<String, ConfigError> {
    env.get(variable).ok_or_else(|| ConfigError {
        variable,
        problem: format!("is required: {what}"),
    })
}

/// The variable as a `T` that is `valid`, `default` when it is absent;
/// otherwise an error saying it is not `expected`.
pub(crate) fn number<T: std::str::FromStr>(
    env: &dyn Env,
    variable: &'static str,
    default: T,
    valid: impl Fn(&T) -> bool,
    expected: &str,
) -> Result<T, ConfigError> {
    let Some(raw) = env.get(variable) else {
        return Ok(default);
    };
    raw.trim()
        .parse::<T>()
        .ok()
        .filter(|v| valid(v))
        .ok_or_else(|| ConfigError {
            variable,
            problem: format!("`{raw}` is not {expected}"),
        })
}
