//! The editors and converters this OTTL subset knows, and their parameters.

mod args;
pub mod converters;
pub mod editors;
mod validate;

pub use validate::validate;

use sha2::{Digest, Sha256};

use super::value::hex;

/// Every function, editors (lower-case) then converters (upper-case).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Set,
    DeleteKey,
    DeleteMatchingKeys,
    KeepKeys,
    KeepMatchingKeys,
    Limit,
    TruncateAll,
    ReplacePattern,
    ReplaceAllPatterns,
    ReplaceMatch,
    ReplaceAllMatches,
    MergeMaps,
    Concat,
    IsMatch,
    Int,
    Double,
    Bool,
    String,
    Sha256,
    IsString,
    IsMap,
    IsInt,
    IsDouble,
    IsBool,
    IsList,
    Len,
    ToLowerCase,
    ToUpperCase,
    ParseJson,
    Split,
    Substring,
    HasPrefix,
    HasSuffix,
    Coalesce,
}

/// How an argument must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A path to a telemetry field.
    Path,
    /// A path to a map (attributes, cache, a map body or a map value by key).
    MapPath,
    /// Any value: literal, path, converter, math.
    Any,
    /// A regular expression, as a string literal.
    Regex,
    /// A `filepath.Match` glob, as a string literal.
    Glob,
    Str,
    Int,
    Bool,
    /// A list of string literals.
    Strs,
    /// A converter name taking and returning a string (`SHA256`).
    Func,
    /// A list of values.
    Exprs,
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub optional: bool,
}

const fn p(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        optional: false,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Param {
    Param {
        name,
        kind,
        optional: true,
    }
}

use Kind::*;

const REPLACE_TAIL: [Param; 2] = [opt("function", Kind::Func), opt("replacement_format", Str)];

/// `(name, function, parameters)` for every function.
pub const FUNCTIONS: &[(&str, Func, &[Param])] = &[
    ("set", Func::Set, &[p("target", Path), p("value", Any)]),
    (
        "delete_key",
        Func::DeleteKey,
        &[p("target", MapPath), p("key", Str)],
    ),
    (
        "delete_matching_keys",
        Func::DeleteMatchingKeys,
        &[p("target", MapPath), p("pattern", Regex)],
    ),
    (
        "keep_keys",
        Func::KeepKeys,
        &[p("target", MapPath), p("keys", Strs)],
    ),
    (
        "keep_matching_keys",
        Func::KeepMatchingKeys,
        &[p("target", MapPath), p("pattern", Regex)],
    ),
    (
        "limit",
        Func::Limit,
        &[
            p("target", MapPath),
            p("limit", Int),
            p("priority_keys", Strs),
        ],
    ),
    (
        "truncate_all",
        Func::TruncateAll,
        &[
            p("target", MapPath),
            p("limit", Int),
            opt("utf8_safe", Bool),
            opt("truncation_marker", Str),
        ],
    ),
    (
        "replace_pattern",
        Func::ReplacePattern,
        &[
            p("target", Path),
            p("regex", Regex),
            p("replacement", Any),
            REPLACE_TAIL[0],
            REPLACE_TAIL[1],
        ],
    ),
    (
        "replace_all_patterns",
        Func::ReplaceAllPatterns,
        &[
            p("target", MapPath),
            p("mode", Str),
            p("regex", Regex),
            p("replacement", Any),
            REPLACE_TAIL[0],
            REPLACE_TAIL[1],
        ],
    ),
    (
        "replace_match",
        Func::ReplaceMatch,
        &[
            p("target", Path),
            p("pattern", Glob),
            p("replacement", Any),
            REPLACE_TAIL[0],
            REPLACE_TAIL[1],
        ],
    ),
    (
        "replace_all_matches",
        Func::ReplaceAllMatches,
        &[
            p("target", MapPath),
            p("pattern", Glob),
            p("replacement", Any),
            REPLACE_TAIL[0],
            REPLACE_TAIL[1],
        ],
    ),
    (
        "merge_maps",
        Func::MergeMaps,
        &[p("target", MapPath), p("source", Any), p("strategy", Str)],
    ),
    (
        "Concat",
        Func::Concat,
        &[p("vals", Exprs), p("delimiter", Any)],
    ),
    (
        "IsMatch",
        Func::IsMatch,
        &[p("target", Any), p("pattern", Regex)],
    ),
    ("Int", Func::Int, &[p("value", Any)]),
    ("Double", Func::Double, &[p("value", Any)]),
    ("Bool", Func::Bool, &[p("value", Any)]),
    ("String", Func::String, &[p("value", Any)]),
    ("SHA256", Func::Sha256, &[p("value", Any)]),
    ("IsString", Func::IsString, &[p("value", Any)]),
    ("IsMap", Func::IsMap, &[p("value", Any)]),
    ("IsInt", Func::IsInt, &[p("value", Any)]),
    ("IsDouble", Func::IsDouble, &[p("value", Any)]),
    ("IsBool", Func::IsBool, &[p("value", Any)]),
    ("IsList", Func::IsList, &[p("value", Any)]),
    ("Len", Func::Len, &[p("target", Any)]),
    ("ToLowerCase", Func::ToLowerCase, &[p("target", Any)]),
    ("ToUpperCase", Func::ToUpperCase, &[p("target", Any)]),
    ("ParseJSON", Func::ParseJson, &[p("target", Any)]),
    (
        "Split",
        Func::Split,
        &[p("target", Any), p("delimiter", Any)],
    ),
    (
        "Substring",
        Func::Substring,
        &[p("target", Any), p("start", Any), p("length", Any)],
    ),
    (
        "HasPrefix",
        Func::HasPrefix,
        &[p("target", Any), p("prefix", Any)],
    ),
    (
        "HasSuffix",
        Func::HasSuffix,
        &[p("target", Any), p("suffix", Any)],
    ),
    ("Coalesce", Func::Coalesce, &[p("values", Exprs)]),
];

pub fn lookup(name: &str) -> Option<(Func, &'static [Param])> {
    FUNCTIONS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, f, params)| (*f, *params))
}

/// Names of the editors (`editors == true`) or converters, for error messages.
pub fn names(editors: bool) -> String {
    let names: Vec<&str> = FUNCTIONS
        .iter()
        .map(|(n, _, _)| *n)
        .filter(|n| n.starts_with(|c: char| c.is_ascii_lowercase()) == editors)
        .collect();
    names.join(", ")
}

/// A converter passed by name to the `replace_*` editors, applied to each replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrFunc {
    Sha256,
    ToLowerCase,
    ToUpperCase,
}

impl StrFunc {
    pub fn parse(name: &str) -> Option<StrFunc> {
        Some(match name {
            "SHA256" => StrFunc::Sha256,
            "ToLowerCase" => StrFunc::ToLowerCase,
            "ToUpperCase" => StrFunc::ToUpperCase,
            _ => return None,
        })
    }

    pub fn apply(self, s: &str) -> String {
        match self {
            StrFunc::Sha256 => sha256_hex(s),
            StrFunc::ToLowerCase => s.to_lowercase(),
            StrFunc::ToUpperCase => s.to_uppercase(),
        }
    }
}

pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

/// Translates a `filepath.Match` glob into an anchored regex: `*` and `?` stop at `/`.
pub fn glob_to_regex(glob: &str) -> String {
    let mut out = String::from("^");
    let mut chars = glob.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    out.push_str(&regex_lite::escape(&next.to_string()));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c if in_class => {
                if matches!(c, '[' | '&' | '~') {
                    out.push('\\');
                }
                out.push(c);
            }
            '[' => {
                in_class = true;
                out.push('[');
            }
            '*' => out.push_str("[^/]*"),
            '?' => out.push_str("[^/]"),
            c => out.push_str(&regex_lite::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_filepath_match() {
        let re = regex_lite::Regex::new(&glob_to_regex("/user/*/list/*")).unwrap();
        assert!(re.is_match("/user/42/list/7"));
        assert!(!re.is_match("/user/4/2/list/7"));
        let re = regex_lite::Regex::new(&glob_to_regex("a?[b-d].txt")).unwrap();
        assert!(re.is_match("axc.txt"));
        assert!(!re.is_match("axe.txt"));
    }

    #[test]
    fn sha256_is_lower_case_hex() {
        assert_eq!(
            sha256_hex("name"),
            "82a3537ff0dbce7eec35d69edc3a189ee6f17d82f353a553f9aa96cb0be3ce89"
        );
    }
}
