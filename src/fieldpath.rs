//! Field paths into JSON text (`spec.containers[*].image`): their grammar, and
//! one walk that finds every value a set of them names.
//!
//! A path is field names separated by `.`; `[*]` after a field name stands for
//! every element of the list there (`matrix[*][*]` for a list of lists). A
//! field name is any text without `.`, `[` or `]`; there is no escaping, and no
//! index other than `[*]`.
//!
//! Paths are compiled once into a tree that shares their common beginnings, so
//! the walk reads each object and list on the way once however many paths go
//! through it: its cost is one scan of what the paths reach. No regex, nothing
//! built lazily.

use std::fmt;

use serde_json::value::RawValue;

use crate::json::{self, Path, Type};

/// A path has at most this many steps (field names and `[*]`): the walk
/// recurses once per step, and real schemas nest a handful of levels.
pub const STEPS_MAX: usize = 32;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    /// `[*]`: every element of a list.
    Each,
}

/// A parsed field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPathError {
    Empty,
    /// Two dots in a row, or a dot at either end.
    EmptySegment,
    /// `[*]` first, or right after a dot.
    EachNotAfterField,
    /// What follows a field name when it is not `[*]` (`[0]`, `]x`…).
    NotEach(String),
    TooManySteps,
}

impl fmt::Display for FieldPathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the path is empty"),
            Self::EmptySegment => f.write_str("a field name between dots is empty"),
            Self::EachNotAfterField => f.write_str("[*] must follow a field name"),
            Self::NotEach(rest) => write!(f, "only [*] may follow a field name, found {rest:?}"),
            Self::TooManySteps => write!(f, "more than {STEPS_MAX} steps"),
        }
    }
}

impl std::error::Error for FieldPathError {}

impl FieldPath {
    pub fn parse(text: &str) -> Result<Self, FieldPathError> {
        if text.is_empty() {
            return Err(FieldPathError::Empty);
        }
        let mut steps = Vec::new();
        for segment in text.split('.') {
            let (name, mut rest) = segment.split_at(segment.find(['[', ']']).unwrap_or(segment.len()));
            match (name.is_empty(), rest.is_empty()) {
                (true, true) => return Err(FieldPathError::EmptySegment),
                (true, false) => return Err(FieldPathError::EachNotAfterField),
                _ => steps.push(Step::Field(name.to_owned())),
            }
            while !rest.is_empty() {
                rest = rest.strip_prefix("[*]").ok_or_else(|| FieldPathError::NotEach(rest.to_owned()))?;
                steps.push(Step::Each);
            }
        }
        if steps.len() > STEPS_MAX {
            return Err(FieldPathError::TooManySteps);
        }
        Ok(Self { text: text.to_owned(), steps })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What the walk finds on the paths.
#[derive(Debug, Clone)]
pub enum Found<'a> {
    /// A string where a path ends, and where it is (`spec.containers[0].image`).
    String(String, &'a RawValue),
    /// A value of a type no path through it can use: nothing below it is read.
    Mismatch(Mismatch),
}

/// A value of a type no path through it can use (a number where a string or
/// an object was expected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// Where, as a path from the root (`spec.imageName`).
    pub at: String,
    pub expected: &'static str,
    pub found: Type,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: expected {}, found {}", self.at, self.expected, self.found)
    }
}

/// An object on the paths that cannot be read (a wanted key written twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Where, as a path from the root (empty for the root itself).
    pub at: String,
    pub problem: String,
}

/// A set of paths compiled into one tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPaths {
    root: Node,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Node {
    /// A path ends here.
    end: bool,
    /// The field names read here, sorted, and the rest of the paths through each.
    fields: Vec<String>,
    below: Vec<Node>,
    /// The rest of the paths through `[*]` here.
    each: Option<Box<Node>>,
}

impl FieldPaths {
    pub fn new<'p>(paths: impl IntoIterator<Item = &'p FieldPath>) -> Self {
        let mut root = Node::default();
        for path in paths {
            root.insert(&path.steps);
        }
        Self { root }
    }

    /// Every string at the end of a path in `raw`, and every value on a path
    /// that has the wrong type for it: by field name within an object, by
    /// position within a list. Absent members and `null` end a path silently.
    pub fn walk<'a>(&self, raw: &'a RawValue) -> Result<Vec<Found<'a>>, Unreadable> {
        let mut found = Vec::new();
        self.root.walk(raw, &Path::Root(""), &mut found)?;
        Ok(found)
    }
}

impl Node {
    fn insert(&mut self, steps: &[Step]) {
        let Some((step, rest)) = steps.split_first() else {
            self.end = true;
            return;
        };
        let next = match step {
            Step::Each => self.each.get_or_insert_with(Box::default),
            Step::Field(name) => {
                let i = self.fields.binary_search(name).unwrap_or_else(|i| {
                    self.fields.insert(i, name.clone());
                    self.below.insert(i, Node::default());
                    i
                });
                &mut self.below[i]
            }
        };
        next.insert(rest);
    }

    fn walk<'a>(&self, raw: &'a RawValue, at: &Path, found: &mut Vec<Found<'a>>) -> Result<(), Unreadable> {
        let unreadable = |e: serde_json::Error| Unreadable { at: at.to_string(), problem: json::message(&e) };
        match Type::of(raw) {
            Type::Null => {}
            Type::String if self.end => found.push(Found::String(at.to_string(), raw)),
            Type::Object if !self.fields.is_empty() => {
                let members = json::fields(raw, &self.fields).map_err(unreadable)?;
                for ((name, below), member) in self.fields.iter().zip(&self.below).zip(members) {
                    if let Some(member) = member {
                        below.walk(member, &at.key(name), found)?;
                    }
                }
            }
            Type::Array if self.each.is_some() => {
                let each = self.each.as_deref().unwrap_or(self);
                for (i, item) in json::elements(raw).map_err(unreadable)?.into_iter().enumerate() {
                    each.walk(item, &at.index(i), found)?;
                }
            }
            other => {
                found.push(Found::Mismatch(Mismatch { at: at.to_string(), expected: self.expected(), found: other }))
            }
        }
        Ok(())
    }

    /// The types the paths through here can use.
    fn expected(&self) -> &'static str {
        match (self.end, !self.fields.is_empty(), self.each.is_some()) {
            (true, false, false) => "a string",
            (false, true, false) => "an object",
            (false, false, true) => "an array",
            (true, true, false) => "a string or an object",
            (true, false, true) => "a string or an array",
            (false, true, true) => "an object or an array",
            _ => "a string, an object or an array",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar() {
        use Step::{Each, Field};
        let field = |name: &str| Field(name.to_owned());
        #[rustfmt::skip]
        let cases: Vec<(&str, Result<Vec<Step>, FieldPathError>)> = vec![
            ("spec.imageName",             Ok(vec![field("spec"), field("imageName")])),
            ("spec.containers[*].image",   Ok(vec![field("spec"), field("containers"), Each, field("image")])),
            ("matrix[*][*]",               Ok(vec![field("matrix"), Each, Each])),
            ("spec.image-name_2/x",        Ok(vec![field("spec"), field("image-name_2/x")])),
            ("",                           Err(FieldPathError::Empty)),
            ("spec..image",                Err(FieldPathError::EmptySegment)),
            (".spec",                      Err(FieldPathError::EmptySegment)),
            ("spec.",                      Err(FieldPathError::EmptySegment)),
            ("[*].image",                  Err(FieldPathError::EachNotAfterField)),
            ("spec.[*]",                   Err(FieldPathError::EachNotAfterField)),
            ("spec.containers[0].image",   Err(FieldPathError::NotEach("[0]".into()))),
            ("spec.containers[*]x",        Err(FieldPathError::NotEach("x".into()))),
            ("spec.a]b",                   Err(FieldPathError::NotEach("]b".into()))),
            ("spec.containers[",           Err(FieldPathError::NotEach("[".into()))),
        ];
        for (text, expected) in cases {
            assert_eq!(FieldPath::parse(text).map(|p| p.steps), expected, "{text:?}");
        }
        assert_eq!(FieldPath::parse(&["a"; 33].join(".")), Err(FieldPathError::TooManySteps));
        assert!(FieldPath::parse(&["a"; 32].join(".")).is_ok());
    }

    fn walk(paths: &[&str], document: &str) -> Vec<String> {
        let paths: Vec<FieldPath> = paths.iter().map(|p| FieldPath::parse(p).unwrap()).collect();
        let raw: &RawValue = serde_json::from_str(document).unwrap();
        let found = FieldPaths::new(&paths).walk(raw).unwrap_or_else(|e| panic!("{}: {}", e.at, e.problem));
        let shown = |found: Found| match found {
            Found::String(at, raw) => format!("{at} = {}", raw.get()),
            Found::Mismatch(mismatch) => mismatch.to_string(),
        };
        found.into_iter().map(shown).collect()
    }

    #[test]
    fn the_walk_finds_every_string_the_paths_name() {
        let paths = ["spec.image", "spec.containers[*].image", "spec.groups[*].members[*].image", "spec.gone.image"];
        let document = r#"{"spec": {"x": {"image": "no"}, "image": "a",
            "containers": [{"image": "b"}, {"name": "no image"}, null, {"image": null}],
            "groups": [{"members": [{"image": "c"}, {"image": "d"}]}, {"members": []}, {}]}}"#;
        assert_eq!(
            walk(&paths, document),
            [
                r#"spec.containers[0].image = "b""#,
                r#"spec.groups[0].members[0].image = "c""#,
                r#"spec.groups[0].members[1].image = "d""#,
                r#"spec.image = "a""#,
            ]
        );
    }

    #[test]
    fn a_value_of_the_wrong_type_is_reported_not_descended_into() {
        let paths = ["spec.imageName", "spec.containers[*].image", "spec.both", "spec.both.image"];
        let document = r#"{"spec": {"imageName": 16, "containers": {"image": "x"}, "both": true}}"#;
        assert_eq!(
            walk(&paths, document),
            [
                "spec.both: expected a string or an object, found a boolean",
                "spec.containers: expected an array, found an object",
                "spec.imageName: expected a string, found a number",
            ]
        );
        assert_eq!(walk(&["spec.image"], r#"{"spec": "x"}"#), ["spec: expected an object, found a string"]);
    }

    #[test]
    fn a_wanted_key_written_twice_is_unreadable() {
        let paths = [FieldPath::parse("spec.image").unwrap()];
        let raw: &RawValue = serde_json::from_str(r#"{"spec": {"image": "a", "image": "b"}}"#).unwrap();
        let error = FieldPaths::new(&paths).walk(raw).unwrap_err();
        assert_eq!((error.at.as_str(), error.problem.as_str()), ("spec", "duplicate key \"image\""));
    }

    #[test]
    fn paths_sharing_a_beginning_share_the_tree() {
        let paths: Vec<FieldPath> =
            ["spec.a", "spec.b[*].c", "spec.b[*].d"].iter().map(|p| FieldPath::parse(p).unwrap()).collect();
        let tree = FieldPaths::new(&paths);
        assert_eq!(tree.root.fields, ["spec"]);
        assert_eq!(tree.root.below[0].fields, ["a", "b"]);
        assert_eq!(tree.root.below[0].below[1].each.as_ref().unwrap().fields, ["c", "d"]);
    }
}
