//! Strict parsing of `#[fastasyncpg(...)]` attributes.
//!
//! Every option may appear once; unknown options, duplicates, wrong value forms and
//! contradictory combinations are errors that point at the offending token and say what is
//! expected.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Type};

/// Which derive is parsing: they accept different options.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Derive {
    FromRow,
    Model,
}

impl Derive {
    fn name(self) -> &'static str {
        match self {
            Derive::FromRow => "FromRow",
            Derive::Model => "Model",
        }
    }

    fn field_options(self) -> &'static str {
        match self {
            Derive::FromRow => "`rename = \"column\"`, `default`, `skip`, `flatten`",
            Derive::Model => {
                "`rename = \"column\"`, `primary_key`, `primary_key = N`, `generated`, `identity`, \
                 `default = \"SQL expression\"`, `default`, `sql_type = \"SQL type\"`, `skip`"
            }
        }
    }
}

/// A flag option: where it was written.
type Flag = Option<Span>;

/// Options on the struct.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    pub(crate) table: Option<LitStr>,
    pub(crate) schema: Option<LitStr>,
}

/// Options on one field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) rename: Option<LitStr>,
    /// Bare `default`: a missing column reads as `Default::default()`.
    pub(crate) default_missing: Flag,
    /// `default = "expr"`: the column's SQL default (Model).
    pub(crate) sql_default: Option<LitStr>,
    pub(crate) skip: Flag,
    pub(crate) flatten: Flag,
    pub(crate) primary_key: Flag,
    /// `primary_key = N`: the field's 1-based position in a composite key.
    pub(crate) key_pos: Option<syn::LitInt>,
    pub(crate) generated: Flag,
    pub(crate) identity: Flag,
    pub(crate) sql_type: Option<LitStr>,
}

fn is_ours(attr: &Attribute) -> bool {
    attr.path().is_ident("fastasyncpg")
}

fn set_flag(slot: &mut Flag, meta: &syn::meta::ParseNestedMeta<'_>, name: &str) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        return Err(meta.error(format!(
            "`{name}` takes no value: write `#[fastasyncpg({name})]`"
        )));
    }
    if slot.is_some() {
        return Err(meta.error(format!("duplicate option `{name}`")));
    }
    *slot = Some(meta.path.span());
    Ok(())
}

pub(crate) fn set_str(
    slot: &mut Option<LitStr>,
    meta: &syn::meta::ParseNestedMeta<'_>,
    name: &str,
    what: &str,
) -> syn::Result<()> {
    if slot.is_some() {
        return Err(meta.error(format!("duplicate option `{name}`")));
    }
    if !meta.input.peek(syn::Token![=]) {
        return Err(meta.error(format!(
            "`{name}` needs a value: write `#[fastasyncpg({name} = \"{what}\")]`"
        )));
    }
    let lit: LitStr = meta.value()?.parse().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a string literal: `{name} = \"{what}\"`"),
        )
    })?;
    if lit.value().trim().is_empty() {
        return Err(syn::Error::new_spanned(
            &lit,
            format!("`{name}` must not be empty"),
        ));
    }
    *slot = Some(lit);
    Ok(())
}

pub(crate) fn container(attrs: &[Attribute], derive: Derive) -> syn::Result<ContainerAttrs> {
    let mut out = ContainerAttrs::default();
    for attr in attrs.iter().filter(|a| is_ours(a)) {
        attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(Ident::to_string).unwrap_or_default();
            match (derive, key.as_str()) {
                (Derive::Model, "table") => set_str(&mut out.table, &meta, "table", "table name"),
                (Derive::Model, "schema") => {
                    set_str(&mut out.schema, &meta, "schema", "schema name")
                }
                (Derive::FromRow, _) => Err(meta.error(
                    "#[derive(FromRow)] takes no struct options \
                     (`table` and `schema` belong to #[derive(Model)])",
                )),
                _ => Err(meta.error(format!(
                    "unknown struct option `{}`; expected `table = \"name\"` or `schema = \"name\"`",
                    path_text(&meta.path)
                ))),
            }
        })?;
    }
    Ok(out)
}

fn path_text(p: &syn::Path) -> String {
    p.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

pub(crate) fn field(attrs: &[Attribute], derive: Derive) -> syn::Result<FieldAttrs> {
    let mut out = FieldAttrs::default();
    for attr in attrs.iter().filter(|a| is_ours(a)) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(Ident::to_string)
                .unwrap_or_default();
            match (derive, key.as_str()) {
                (_, "rename") => set_str(&mut out.rename, &meta, "rename", "column name"),
                (_, "skip") => set_flag(&mut out.skip, &meta, "skip"),
                (_, "default") => {
                    if meta.input.peek(syn::Token![=]) {
                        if derive == Derive::FromRow {
                            return Err(meta.error(
                                "#[derive(FromRow)] takes a bare `default` (a missing column \
                                 reads as Default::default()); SQL defaults \
                                 `default = \"expr\"` belong to #[derive(Model)]",
                            ));
                        }
                        set_str(&mut out.sql_default, &meta, "default", "SQL expression")
                    } else {
                        set_flag(&mut out.default_missing, &meta, "default")
                    }
                }
                (Derive::FromRow, "flatten") => set_flag(&mut out.flatten, &meta, "flatten"),
                (Derive::Model, "primary_key") => {
                    if meta.input.peek(syn::Token![=]) {
                        if out.primary_key.is_some() {
                            return Err(meta.error("duplicate option `primary_key`"));
                        }
                        let n: syn::LitInt = meta.value()?.parse().map_err(|e| {
                            syn::Error::new(
                                e.span(),
                                "expected the field's position in the key: `primary_key = 1`",
                            )
                        })?;
                        if n.base10_parse::<usize>().map_or(true, |v| v == 0) {
                            return Err(syn::Error::new_spanned(
                                &n,
                                "key positions start at 1: `primary_key = 1`",
                            ));
                        }
                        out.primary_key = Some(meta.path.span());
                        out.key_pos = Some(n);
                        Ok(())
                    } else {
                        set_flag(&mut out.primary_key, &meta, "primary_key")
                    }
                }
                (Derive::Model, "generated") => set_flag(&mut out.generated, &meta, "generated"),
                (Derive::Model, "identity") => set_flag(&mut out.identity, &meta, "identity"),
                (Derive::Model, "sql_type") => {
                    set_str(&mut out.sql_type, &meta, "sql_type", "SQL type")
                }
                _ => Err(meta.error(format!(
                    "unknown option `{}` for #[derive({})]; expected one of: {}",
                    path_text(&meta.path),
                    derive.name(),
                    derive.field_options()
                ))),
            }
        })?;
    }
    // Combinations.
    if let Some(skip) = out.skip {
        let others = [
            ("rename", out.rename.as_ref().map(|l| l.span())),
            ("default", out.default_missing),
            ("default", out.sql_default.as_ref().map(|l| l.span())),
            ("flatten", out.flatten),
            ("primary_key", out.primary_key),
            ("generated", out.generated),
            ("identity", out.identity),
            ("sql_type", out.sql_type.as_ref().map(|l| l.span())),
        ];
        if let Some((name, _)) = others.iter().find(|(_, s)| s.is_some()) {
            return Err(syn::Error::new(
                skip,
                format!("`skip` cannot be combined with `{name}`: a skipped field is not a column"),
            ));
        }
    }
    if let Some(fl) = out.flatten {
        if out.rename.is_some() || out.default_missing.is_some() {
            return Err(syn::Error::new(
                fl,
                "`flatten` cannot be combined with `rename` or `default`: the flattened \
                 struct's own fields name its columns",
            ));
        }
    }
    Ok(out)
}

/// `Some(T)` when `ty` is `Option<T>` (also spelled `std::option::Option<T>`).
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(tp) = ty else { return None };
    if tp.qself.is_some() {
        return None;
    }
    let last = tp.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    if args.args.len() != 1 {
        return None;
    }
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }
}

/// The SQL name of a field: `rename`, else the identifier without `r#`.
pub(crate) fn column_name(ident: &Ident, attrs: &FieldAttrs) -> String {
    match &attrs.rename {
        Some(l) => l.value(),
        None => unraw(ident),
    }
}

pub(crate) fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_string).unwrap_or(s)
}

/// `first_name` → `FIRST_NAME`, `firstName` → `FIRST_NAME`.
pub(crate) fn screaming(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch.is_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        out.extend(ch.to_uppercase());
    }
    out
}

/// `InvoiceLine` → `invoice_line`, `HTTPLog` → `http_log`.
pub(crate) fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &ch) in chars.iter().enumerate() {
        if ch.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                _ => false,
            };
            if boundary {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(screaming("first_name"), "FIRST_NAME");
        assert_eq!(screaming("firstName"), "FIRST_NAME");
        assert_eq!(screaming("a1b"), "A1B");
        assert_eq!(snake("InvoiceLine"), "invoice_line");
        assert_eq!(snake("HTTPLog"), "http_log");
        assert_eq!(snake("User"), "user");
        assert_eq!(snake("Track2Mix"), "track2_mix");
    }
}
