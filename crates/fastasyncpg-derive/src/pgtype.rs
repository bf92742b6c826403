//! `#[derive(PgEnum)]` and `#[derive(PgComposite)]`: Rust types for PostgreSQL enum and
//! composite types, readable from and writable to columns.

use proc_macro2::TokenStream as Tokens;
use quote::quote;
use syn::{Data, DeriveInput, Fields, Ident, LitStr};

use crate::attrs::{self, unraw};

/// Options on the type: `type_name = "..."` (required), `schema = "..."`.
struct TypeAttrs {
    type_name: LitStr,
    schema: Option<LitStr>,
}

fn type_attrs(input: &DeriveInput, what: &str) -> syn::Result<TypeAttrs> {
    let mut type_name: Option<LitStr> = None;
    let mut schema: Option<LitStr> = None;
    for attr in input
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("fastasyncpg"))
    {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("type_name") {
                attrs::set_str(&mut type_name, &meta, "type_name", "PostgreSQL type name")
            } else if meta.path.is_ident("schema") {
                attrs::set_str(&mut schema, &meta, "schema", "schema name")
            } else {
                Err(meta.error(format!(
                    "unknown option for #[derive({what})]; expected `type_name = \"name\"` or `schema = \"name\"`"
                )))
            }
        })?;
    }
    let type_name = type_name.ok_or_else(|| {
        syn::Error::new_spanned(
            &input.ident,
            format!(
                "#[derive({what})] needs the PostgreSQL type's name: add \
                 #[fastasyncpg(type_name = \"name\")]"
            ),
        )
    })?;
    Ok(TypeAttrs { type_name, schema })
}

/// `rename = "..."` on a variant or field; nothing else.
fn rename_attr(attrs_: &[syn::Attribute], what: &str) -> syn::Result<Option<LitStr>> {
    let mut rename = None;
    for attr in attrs_.iter().filter(|a| a.path().is_ident("fastasyncpg")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                attrs::set_str(&mut rename, &meta, "rename", what)
            } else {
                Err(meta.error(format!("unknown option; expected `rename = \"{what}\"`")))
            }
        })?;
    }
    Ok(rename)
}

impl TypeAttrs {
    /// The type's SQL name, quoted and escaped (schema-qualified when a schema is given).
    fn qualified(&self) -> String {
        let name = quote_ident(&self.type_name.value());
        match &self.schema {
            Some(s) => format!("{}.{name}", quote_ident(&s.value())),
            None => name,
        }
    }
}

fn schema_tokens(s: &Option<LitStr>) -> Tokens {
    match s {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

pub(crate) fn pg_enum(input: &DeriveInput) -> syn::Result<Tokens> {
    let p = quote!(::fastasyncpg::__private);
    let ta = type_attrs(input, "PgEnum")?;
    let Data::Enum(e) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[derive(PgEnum)] works on enums whose variants are the type's labels",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(PgEnum)] does not support generic enums",
        ));
    }
    let mut idents: Vec<&Ident> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    for v in &e.variants {
        if !matches!(v.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                &v.fields,
                "#[derive(PgEnum)] variants carry no data: one unit variant per label",
            ));
        }
        let label = match rename_attr(&v.attrs, "label")? {
            Some(l) => l.value(),
            None => unraw(&v.ident),
        };
        if labels.contains(&label) {
            return Err(syn::Error::new_spanned(
                &v.ident,
                format!("two variants have the label {label:?}"),
            ));
        }
        idents.push(&v.ident);
        labels.push(label);
    }
    let name = &input.ident;
    let type_name = &ta.type_name;
    let schema = schema_tokens(&ta.schema);
    let qualified = ta.qualified();
    Ok(quote! {
        #[automatically_derived]
        impl #name {
            /// Every variant, in label order.
            pub const ALL: &'static [Self] = &[#(Self::#idents),*];

            /// The PostgreSQL label of this variant.
            pub fn label(&self) -> &'static str {
                match self { #(Self::#idents => #labels,)* }
            }

            /// The variant with this label.
            pub fn from_label(label: &str) -> ::core::option::Option<Self> {
                match label { #(#labels => ::core::option::Option::Some(Self::#idents),)* _ => ::core::option::Option::None }
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.label())
            }
        }

        #[automatically_derived]
        impl ::fastasyncpg::FromValue for #name {
            fn from_value(v: ::fastasyncpg::Value) -> ::fastasyncpg::Result<Self> {
                let label = #p::enum_label(v, #type_name)?;
                Self::from_label(&label).ok_or_else(|| #p::bad_label(#type_name, &label, &[#(#labels),*]))
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#name> for ::fastasyncpg::Value {
            fn from(v: #name) -> ::fastasyncpg::Value {
                #p::enum_value(#type_name, v.label())
            }
        }

        #[automatically_derived]
        impl<'a> #p::postgres_types::FromSql<'a> for #name {
            fn from_sql(
                _ty: &#p::postgres_types::Type,
                raw: &'a [u8],
            ) -> ::core::result::Result<Self, #p::BoxError> {
                let label = ::core::str::from_utf8(raw)?;
                Self::from_label(label).ok_or_else(|| #p::bad_label(#type_name, label, &[#(#labels),*]).into())
            }

            fn accepts(ty: &#p::postgres_types::Type) -> bool {
                #p::enum_accepts(ty, #type_name, #schema)
            }
        }

        #[automatically_derived]
        impl #p::postgres_types::ToSql for #name {
            fn to_sql(
                &self,
                _ty: &#p::postgres_types::Type,
                out: &mut #p::BytesMut,
            ) -> ::core::result::Result<#p::postgres_types::IsNull, #p::BoxError> {
                out.extend_from_slice(self.label().as_bytes());
                ::core::result::Result::Ok(#p::postgres_types::IsNull::No)
            }

            fn accepts(ty: &#p::postgres_types::Type) -> bool {
                #p::enum_accepts(ty, #type_name, #schema)
            }

            #p::postgres_types::to_sql_checked!();
        }

        #[automatically_derived]
        impl ::fastasyncpg::model::SqlType for #name {
            fn sql_type() -> ::std::string::String {
                ::std::string::String::from(#qualified)
            }
        }
    })
}

pub(crate) fn pg_composite(input: &DeriveInput) -> syn::Result<Tokens> {
    let p = quote!(::fastasyncpg::__private);
    let ta = type_attrs(input, "PgComposite")?;
    let named =
        match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(n) => &n.named,
                other => return Err(syn::Error::new_spanned(
                    other,
                    "#[derive(PgComposite)] needs a struct with named fields, one per attribute",
                )),
            },
            _ => {
                return Err(syn::Error::new_spanned(
                    &input.ident,
                    "#[derive(PgComposite)] works on structs with named fields, one per attribute",
                ))
            }
        };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(PgComposite)] does not support generic structs",
        ));
    }
    let mut idents = Vec::new();
    let mut names = Vec::new();
    let mut tys = Vec::new();
    for f in named {
        let Some(ident) = &f.ident else { continue };
        let n = match rename_attr(&f.attrs, "attribute name")? {
            Some(l) => l.value(),
            None => unraw(ident),
        };
        idents.push(ident);
        names.push(n);
        tys.push(&f.ty);
    }
    let idx = 0..idents.len();
    let name = &input.ident;
    let type_name = &ta.type_name;
    let qualified = ta.qualified();
    Ok(quote! {
        #[automatically_derived]
        impl ::fastasyncpg::FromValue for #name {
            fn from_value(v: ::fastasyncpg::Value) -> ::fastasyncpg::Result<Self> {
                let mut __fields = #p::composite_fields(v, #type_name)?;
                ::core::result::Result::Ok(#name {
                    #(#idents: #p::composite_field::<#tys>(&mut __fields, #names, #idx, #type_name)?,)*
                })
            }
        }

        #[automatically_derived]
        impl ::core::convert::From<#name> for ::fastasyncpg::Value {
            fn from(v: #name) -> ::fastasyncpg::Value {
                #p::composite_value(#type_name, ::std::vec![
                    #((::std::string::String::from(#names), ::fastasyncpg::Value::from(v.#idents)),)*
                ])
            }
        }

        #[automatically_derived]
        impl ::fastasyncpg::model::SqlType for #name {
            fn sql_type() -> ::std::string::String {
                ::std::string::String::from(#qualified)
            }
        }
    })
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
