//! Borrowed reads of JSON text: the members of an object, the elements of an
//! array, the text of a string, without building a tree.
//!
//! Every value handed out is a `&RawValue` slice of the admitted text itself,
//! so [`crate::splice`] can later edit the text at exactly that place and
//! every byte the policy does not touch survives as the API server sent it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The JSON type of a raw value, read from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Type {
    pub fn of(raw: &RawValue) -> Self {
        match raw.get().as_bytes().first() {
            Some(b'{') => Self::Object,
            Some(b'[') => Self::Array,
            Some(b'"') => Self::String,
            Some(b't' | b'f') => Self::Bool,
            Some(b'n') => Self::Null,
            _ => Self::Number,
        }
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Null => "null",
            Self::Bool => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        })
    }
}

/// The members named in `keys` of the object `raw`, in one pass over it.
///
/// A key named twice in the text is an error rather than a silent choice:
/// the API server never sends one, and guessing which copy it would keep is
/// how a policy and the server end up disagreeing.
pub fn members<'a, const N: usize>(
    raw: &'a RawValue,
    keys: [&str; N],
) -> Result<[Option<&'a RawValue>; N], serde_json::Error> {
    pick(raw, keys, false).map(|(found, _)| found)
}

/// [`members`], and the other keys of the object, for readers that refuse
/// keys they do not know.
pub fn members_and_others<'a, const N: usize>(
    raw: &'a RawValue,
    keys: [&str; N],
) -> Result<([Option<&'a RawValue>; N], Vec<String>), serde_json::Error> {
    pick(raw, keys, true)
}

/// [`members_and_others`] of every element of the array `raw`, in one pass
/// over it (lists of objects arrive with every request). Fails on the first
/// element that is not an object or has a key twice; a caller then reads the
/// elements one by one to say precisely which and why.
pub fn objects<'a, const N: usize>(
    raw: &'a RawValue,
    keys: [&str; N],
) -> Result<Vec<Picked<'a, N>>, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    reader.deserialize_seq(Objects(Pick { keys, others: true }))
}

pub type Picked<'a, const N: usize> = ([Option<&'a RawValue>; N], Vec<String>);

fn pick<'a, const N: usize>(
    raw: &'a RawValue,
    keys: [&str; N],
    others: bool,
) -> Result<Picked<'a, N>, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    reader.deserialize_map(Pick { keys, others })
}

/// [`members`] for keys known only at run time (field paths from the settings).
pub fn fields<'a, K: AsRef<str>>(
    raw: &'a RawValue,
    keys: &[K],
) -> Result<Vec<Option<&'a RawValue>>, serde_json::Error> {
    let mut reader = serde_json::Deserializer::from_str(raw.get());
    reader.deserialize_map(Fields(keys))
}

/// The elements of the array `raw`.
pub fn elements(raw: &RawValue) -> Result<Vec<&RawValue>, serde_json::Error> {
    serde_json::from_str(raw.get())
}

/// The text of the JSON string `raw`, borrowed unless it has escapes to decode.
pub fn text(raw: &RawValue) -> Result<Cow<'_, str>, serde_json::Error> {
    let literal = raw.get();
    match literal.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Ok(Cow::Borrowed(inner)),
        _ => serde_json::from_str::<String>(literal).map(Cow::Owned),
    }
}

/// Where a value sits in a document, formatted only when an error names it:
/// on the success path a path costs nothing.
#[derive(Clone, Copy)]
pub enum Path<'a> {
    /// The document's name (`object`); empty when paths start at its keys.
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    /// Several keys at once, as in `spec.template`.
    Keys(&'a Path<'a>, &'a [&'a str]),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// The position in a list this path ends at, if it ends at one.
    pub fn position(&self) -> Option<usize> {
        match self {
            Path::Index(_, index) => Some(*index),
            _ => None,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let separated = |f: &mut fmt::Formatter<'_>, parent: &Path| match parent {
            Path::Root("") => Ok(()),
            parent => write!(f, "{parent}."),
        };
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Key(parent, key) => {
                separated(f, parent)?;
                f.write_str(key)
            }
            Path::Keys(parent, []) => write!(f, "{parent}"),
            Path::Keys(parent, keys) => {
                separated(f, parent)?;
                f.write_str(&keys.join("."))
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// An error's message without serde's position: positions count from the
/// start of the slice being read, not of anything the user sent.
pub fn message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    text.strip_suffix(&position).map_or(text.clone(), str::to_owned)
}

#[derive(Clone, Copy)]
struct Pick<'k, const N: usize> {
    keys: [&'k str; N],
    /// Whether to collect the keys not asked for.
    others: bool,
}

impl<'de, const N: usize> Visitor<'de> for Pick<'_, N> {
    type Value = Picked<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut found = [None; N];
        let mut others = Vec::new();
        fill(map, &self.keys, &mut found, self.others.then_some(&mut others))?;
        Ok((found, others))
    }
}

/// The visitor of [`fields`].
struct Fields<'k, K>(&'k [K]);

impl<'de, K: AsRef<str>> Visitor<'de> for Fields<'_, K> {
    type Value = Vec<Option<&'de RawValue>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let mut found = vec![None; self.0.len()];
        fill(map, self.0, &mut found, None)?;
        Ok(found)
    }
}

/// Reads the members of `map` named in `keys` into `found` (as long as
/// `keys`), and the other keys into `others` when given.
fn fill<'de, A: MapAccess<'de>, K: AsRef<str>>(
    mut map: A,
    keys: &[K],
    found: &mut [Option<&'de RawValue>],
    mut others: Option<&mut Vec<String>>,
) -> Result<(), A::Error> {
    while let Some(slot) = map.next_key_seed(KeySlot { keys, others: others.is_some() })? {
        match slot {
            Slot::Wanted(i) if found[i].is_some() => {
                return Err(de::Error::custom(format_args!("duplicate key {:?}", keys[i].as_ref())));
            }
            Slot::Wanted(i) => found[i] = Some(map.next_value()?),
            Slot::Other(key) => {
                if let (Some(others), Some(key)) = (others.as_deref_mut(), key) {
                    others.push(key);
                }
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
    Ok(())
}

impl<'de, const N: usize> DeserializeSeed<'de> for Pick<'_, N> {
    type Value = Picked<'de, N>;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Self::Value, D::Error> {
        reader.deserialize_map(self)
    }
}

/// The array visitor of [`objects`]: each element read by the same [`Pick`].
struct Objects<'k, const N: usize>(Pick<'k, N>);

impl<'de, const N: usize> Visitor<'de> for Objects<'_, N> {
    type Value = Vec<Picked<'de, N>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::with_capacity(items.size_hint().unwrap_or(0));
        while let Some(picked) = items.next_element_seed(self.0)? {
            all.push(picked);
        }
        Ok(all)
    }
}

enum Slot {
    Wanted(usize),
    /// A key nobody asked for; its text only when the caller collects them.
    Other(Option<String>),
}

/// Reads an object key as the index of the wanted key it equals, without
/// allocating for the keys nobody asked for unless the caller collects them.
struct KeySlot<'k, K> {
    keys: &'k [K],
    others: bool,
}

impl<'de, K: AsRef<str>> DeserializeSeed<'de> for KeySlot<'_, K> {
    type Value = Slot;

    fn deserialize<D: Deserializer<'de>>(self, reader: D) -> Result<Self::Value, D::Error> {
        reader.deserialize_str(self)
    }
}

impl<'de, K: AsRef<str>> Visitor<'de> for KeySlot<'_, K> {
    type Value = Slot;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(match self.keys.iter().position(|wanted| wanted.as_ref() == key) {
            Some(i) => Slot::Wanted(i),
            None => Slot::Other(self.others.then(|| key.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> &RawValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn members_are_borrowed_slices_of_the_text() {
        let object = raw(r#"{"a": [1, {"x":2}], "skip": {"deep": [true]}, "b" : "s"}"#);
        let [a, b, missing] = members(object, ["a", "b", "c"]).unwrap();
        assert_eq!(a.map(RawValue::get), Some(r#"[1, {"x":2}]"#));
        assert_eq!(b.map(RawValue::get), Some(r#""s""#));
        assert!(missing.is_none());
    }

    #[test]
    fn escaped_keys_are_decoded_before_comparison() {
        let object = raw(r#"{"im\u0061ge": "x"}"#);
        assert_eq!(members(object, ["image"]).unwrap()[0].map(RawValue::get), Some(r#""x""#));
    }

    #[test]
    fn a_wanted_key_twice_is_an_error() {
        let error = members(raw(r#"{"spec": {}, "spec": {}}"#), ["spec"]).unwrap_err();
        assert_eq!(message(&error), "duplicate key \"spec\"");
    }

    #[test]
    fn other_keys_are_collected_on_request() {
        let (found, others) = members_and_others(raw(r#"{"a": 1, "zz": 2, "b": 3}"#), ["a"]).unwrap();
        assert_eq!(found[0].map(RawValue::get), Some("1"));
        assert_eq!(others, ["zz", "b"]);
    }

    #[test]
    fn objects_read_each_element_like_members_and_others() {
        let list = raw(r#"[{"a": 1, "zz": 2}, {}, {"a": "x"}]"#);
        let read = objects(list, ["a"]).unwrap();
        let shown: Vec<_> = read.iter().map(|(found, others)| (found[0].map(RawValue::get), others.clone())).collect();
        assert_eq!(shown, [(Some("1"), vec!["zz".to_owned()]), (None, vec![]), (Some(r#""x""#), vec![])]);
    }

    #[test]
    fn objects_fail_on_an_element_that_is_not_one() {
        assert!(objects(raw(r#"[{"a": 1}, "a"]"#), ["a"]).is_err());
        assert!(objects(raw(r#"[{"a": 1, "a": 2}]"#), ["a"]).is_err());
    }

    #[test]
    fn fields_are_members_for_keys_known_at_run_time() {
        let keys = vec!["b".to_owned(), "c".to_owned()];
        let found = fields(raw(r#"{"a": 1, "b": [2], "b2": 3}"#), &keys).unwrap();
        assert_eq!(found.iter().map(|f| f.map(RawValue::get)).collect::<Vec<_>>(), [Some("[2]"), None]);
        assert_eq!(message(&fields(raw(r#"{"b": 1, "b": 2}"#), &keys).unwrap_err()), "duplicate key \"b\"");
    }

    #[test]
    fn an_unwanted_key_twice_is_ignored() {
        assert!(members(raw(r#"{"x": 1, "x": 2}"#), ["spec"]).is_ok());
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        assert!(matches!(text(raw(r#""nginx:1.27""#)).unwrap(), Cow::Borrowed("nginx:1.27")));
        assert_eq!(text(raw(r#""ngi\u006ex""#)).unwrap(), "nginx");
        assert_eq!(text(raw(r#""a\"b""#)).unwrap(), "a\"b");
    }

    #[test]
    fn paths_print_like_field_references() {
        let object = Path::Root("object");
        let template = Path::Keys(&object, &["spec", "template"]);
        let containers = template.key("containers");
        assert_eq!(containers.index(2).key("image").to_string(), "object.spec.template.containers[2].image");
        let settings = Path::Root("");
        assert_eq!(settings.key("mappings").index(0).key("source").to_string(), "mappings[0].source");
    }

    #[test]
    fn types_come_from_the_first_byte() {
        let cases = [
            ("{}", Type::Object),
            ("[]", Type::Array),
            ("\"\"", Type::String),
            ("true", Type::Bool),
            ("null", Type::Null),
            ("-1.5", Type::Number),
        ];
        for (text, expected) in cases {
            assert_eq!(Type::of(raw(text)), expected, "{text}");
        }
    }
}
