//! Image globs for exclusions: `*` matches any run of characters (slashes
//! included), `?` exactly one; everything else is literal.
//!
//! Deliberately tiny: settings arrive with every admission request, so a glob
//! is checked and matched without compiling anything.

use std::fmt;

/// Why a string is not a glob this policy accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GlobError {
    Empty,
    /// Character classes, alternatives and escapes are not supported.
    Unsupported(char),
    /// A character no image reference contains: the glob could never match.
    NeverMatches(char),
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::Unsupported(c) => {
                write!(f, "{c:?} is not supported: only * and ? are special in image globs")
            }
            Self::NeverMatches(c) => write!(f, "{c:?} never appears in an image reference"),
        }
    }
}

impl std::error::Error for GlobError {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    pattern: String,
}

impl Glob {
    pub fn parse(pattern: &str) -> Result<Self, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        for c in pattern.chars() {
            match c {
                '[' | ']' | '{' | '}' | '\\' | '!' => return Err(GlobError::Unsupported(c)),
                '*' | '?' | '.' | '_' | '-' | ':' | '/' | '@' | '+' => {}
                c if c.is_ascii_alphanumeric() => {}
                c => return Err(GlobError::NeverMatches(c)),
            }
        }
        Ok(Self { pattern: pattern.to_owned() })
    }

    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    /// Whether the glob matches all of `text`.
    ///
    /// Backtracks only to the last `*` seen, so it runs in
    /// O(len(text) × stars) and never recurses.
    pub fn matches(&self, text: &str) -> bool {
        let (pattern, text) = (self.pattern.as_bytes(), text.as_bytes());
        let (mut p, mut t) = (0, 0);
        let mut resume: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some(b'*') => {
                    resume = Some((p + 1, t));
                    p += 1;
                }
                Some(&c) if c == b'?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match resume {
                    Some((after_star, from)) => {
                        p = after_star;
                        t = from + 1;
                        resume = Some((after_star, from + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == b'*')
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let cases: &[(&str, &str, bool)] = &[
            // (glob, normalised reference, matches)
            ("registry.k8s.io/pause:*", "registry.k8s.io/pause:3.9", true),
            ("registry.k8s.io/pause:*", "registry.k8s.io/pause", false),
            ("registry.k8s.io/pause*", "registry.k8s.io/pause", true),
            ("docker.io/library/busybox*", "docker.io/library/busybox:1.36", true),
            ("docker.io/library/busybox*", "docker.io/library/busybox2", true),
            ("docker.io/library/busybox*", "docker.io/library/alpine", false),
            ("*", "quay.io/a/b@sha256:00", true),
            ("quay.io/*", "quay.io/org/deep/path:v1", true),
            ("quay.io/*/app", "quay.io/org/deep/app", true),
            ("quay.io/*/app", "quay.io/org/deep/app:v1", false),
            ("docker.io/library/nginx:1.2?", "docker.io/library/nginx:1.27", true),
            ("docker.io/library/nginx:1.2?", "docker.io/library/nginx:1.2", false),
            ("docker.io/library/nginx:1.2?", "docker.io/library/nginx:1.270", false),
            ("*a*b*c", "xaxbxc", true),
            ("*a*b*c", "xaxbxcx", false),
            ("a**b", "ab", true),
            ("exact/name", "exact/name", true),
            ("exact/name", "exact/name2", false),
            ("*:latest", "docker.io/library/nginx:latest", true),
        ];
        for &(glob, text, expected) in cases {
            let glob = Glob::parse(glob).expect(glob);
            assert_eq!(glob.matches(text), expected, "{glob} against {text}");
        }
    }

    #[test]
    fn parsing() {
        let cases: &[(&str, Result<(), GlobError>)] = &[
            ("registry.k8s.io/pause:*", Ok(())),
            ("quay.io/org/app@sha256:*", Ok(())),
            ("", Err(GlobError::Empty)),
            ("pause[", Err(GlobError::Unsupported('['))),
            ("pause]", Err(GlobError::Unsupported(']'))),
            ("{a,b}", Err(GlobError::Unsupported('{'))),
            ("a\\*", Err(GlobError::Unsupported('\\'))),
            ("with space*", Err(GlobError::NeverMatches(' '))),
            ("caf\u{e9}*", Err(GlobError::NeverMatches('\u{e9}'))),
        ];
        for (glob, expected) in cases {
            assert_eq!(Glob::parse(glob).map(|_| ()), *expected, "{glob:?}");
        }
    }

    #[test]
    fn error_messages_name_the_character() {
        assert_eq!(
            GlobError::Unsupported('[').to_string(),
            "'[' is not supported: only * and ? are special in image globs"
        );
        assert_eq!(GlobError::NeverMatches(' ').to_string(), "' ' never appears in an image reference");
    }
}
