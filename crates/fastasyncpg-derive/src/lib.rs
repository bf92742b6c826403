//! Derive macros for [fastasyncpg](https://docs.rs/fastasyncpg): `FromRow` and `Model`.
//!
//! A thin shell: the macros parse attributes strictly and emit small glue that calls the
//! runtime helpers in `::fastasyncpg::__private`, where the real work (column lookup, fast
//! decoding, SQL generation) lives and is tested. Use them through the `fastasyncpg` crate's
//! re-exports (`fastasyncpg::FromRow`, `fastasyncpg::Model`); their documentation is there.
#![warn(missing_docs, rust_2018_idioms, unreachable_pub)]

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, Ident, Type};

mod attrs;
mod pgtype;

use attrs::{Derive, FieldAttrs};

/// Builds a struct from a row by column name. See `fastasyncpg::FromRow`.
#[proc_macro_derive(FromRow, attributes(fastasyncpg))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input, Derive::FromRow)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A struct that is a row of a table: typed table API, column constants, DDL. Implies
/// `FromRow`. See `fastasyncpg::Model`.
#[proc_macro_derive(Model, attributes(fastasyncpg))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    expand(&input, Derive::Model)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A Rust enum for a PostgreSQL enum type. See `fastasyncpg::model::PgEnum`.
#[proc_macro_derive(PgEnum, attributes(fastasyncpg))]
pub fn derive_pg_enum(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    pgtype::pg_enum(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// A Rust struct for a PostgreSQL composite type. See `fastasyncpg::model::PgComposite`.
#[proc_macro_derive(PgComposite, attributes(fastasyncpg))]
pub fn derive_pg_composite(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as DeriveInput);
    pgtype::pg_composite(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

struct Field<'a> {
    ident: &'a Ident,
    ty: &'a Type,
    attrs: FieldAttrs,
    column: String,
}

impl Field<'_> {
    fn is_column(&self) -> bool {
        self.attrs.skip.is_none() && self.attrs.flatten.is_none()
    }
}

fn fields(input: &DeriveInput, derive: Derive) -> syn::Result<Vec<Field<'_>>> {
    let what = match derive {
        Derive::FromRow => "FromRow",
        Derive::Model => "Model",
    };
    let named = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(n) => &n.named,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!(
                        "#[derive({what})] needs a struct with named fields, one per column: \
                         `struct {} {{ id: i64, name: String }}`",
                        input.ident
                    ),
                ))
            }
        },
        Data::Enum(e) => {
            return Err(syn::Error::new_spanned(
                e.enum_token,
                format!("#[derive({what})] works on structs with named fields, not enums"),
            ))
        }
        Data::Union(u) => {
            return Err(syn::Error::new_spanned(
                u.union_token,
                format!("#[derive({what})] works on structs with named fields, not unions"),
            ))
        }
    };
    let mut out: Vec<Field<'_>> = Vec::with_capacity(named.len());
    let mut errors: Option<syn::Error> = None;
    let mut push_err = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    for f in named {
        let Some(ident) = &f.ident else { continue };
        match attrs::field(&f.attrs, derive) {
            Ok(a) => {
                let column = attrs::column_name(ident, &a);
                out.push(Field {
                    ident,
                    ty: &f.ty,
                    attrs: a,
                    column,
                })
            }
            Err(e) => push_err(e),
        }
    }
    // Two fields reading the same column is almost always a mistake.
    for (i, f) in out.iter().enumerate() {
        if !f.is_column() {
            continue;
        }
        if out[..i]
            .iter()
            .any(|g| g.is_column() && g.column == f.column)
        {
            let msg = format!("two fields read column {:?}; rename one of them", f.column);
            push_err(match &f.attrs.rename {
                Some(l) => syn::Error::new_spanned(l, msg),
                None => syn::Error::new_spanned(f.ident, msg),
            });
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn expand(input: &DeriveInput, derive: Derive) -> syn::Result<Tokens> {
    let container = attrs::container(&input.attrs, derive)?;
    let fields = fields(input, derive)?;
    let from_row = from_row_impl(input, &fields);
    match derive {
        Derive::FromRow => Ok(from_row),
        Derive::Model => {
            let model = model_impl(input, &fields, &container)?;
            Ok(quote! { #from_row #model })
        }
    }
}

fn private() -> Tokens {
    quote!(::fastasyncpg::__private)
}

fn from_row_impl(input: &DeriveInput, fields: &[Field<'_>]) -> Tokens {
    let p = private();
    let name = &input.ident;
    let name_str = name.to_string();
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let mut plan_steps = Vec::new();
    let mut inits = Vec::new();
    let (mut slot, mut nested) = (0usize, 0usize);
    for f in fields {
        let ident = f.ident;
        let ty = f.ty;
        if f.attrs.skip.is_some() {
            inits.push(quote_spanned! {ty.span()=>
                #ident: ::core::default::Default::default()
            });
        } else if f.attrs.flatten.is_some() {
            plan_steps.push(quote_spanned! {ty.span()=>
                __plan.nest(<#ty as ::fastasyncpg::FromRow>::plan(__cols));
            });
            inits.push(quote_spanned! {ty.span()=>
                #ident: <#ty as ::fastasyncpg::FromRow>::from_row_with(__row, __plan.nested(#nested))?
            });
            nested += 1;
        } else {
            let col = &f.column;
            let field = ident.to_string();
            let required = f.attrs.default_missing.is_none();
            plan_steps.push(quote_spanned! {ty.span()=>
                __plan.column(__cols, #col, #field, #required, (&&&#p::Probe::<#ty>::NEW).__accepts_fn());
            });
            let decode = quote_spanned! {ty.span()=>
                (&&&#p::Probe::<#ty>::NEW).__decode(__row, __plan.slot(#slot))?
            };
            if required {
                inits.push(quote!(#ident: #decode));
            } else {
                inits.push(quote_spanned! {ty.span()=>
                    #ident: if __plan.slot(#slot).is_present() {
                        #decode
                    } else {
                        ::core::default::Default::default()
                    }
                });
            }
            slot += 1;
        }
    }
    quote! {
        #[automatically_derived]
        impl #impl_g ::fastasyncpg::FromRow for #name #ty_g #where_c {
            fn plan(
                __cols: &::fastasyncpg::Columns,
            ) -> ::fastasyncpg::Result<#p::RowPlan> {
                #[allow(unused_imports)]
                use #p::{DecodeBoth as _, DecodeSql as _, DecodeValue as _};
                let mut __plan = #p::RowPlan::new(#name_str);
                #(#plan_steps)*
                __plan.finish(__cols)
            }

            fn from_row_with(
                __row: ::fastasyncpg::model::RowRef<'_>,
                __plan: &#p::RowPlan,
            ) -> ::fastasyncpg::Result<Self> {
                #[allow(unused_imports)]
                use #p::{DecodeBoth as _, DecodeSql as _, DecodeValue as _};
                ::core::result::Result::Ok(#name { #(#inits,)* })
            }
        }
    }
}

fn model_impl(
    input: &DeriveInput,
    fields: &[Field<'_>],
    container: &attrs::ContainerAttrs,
) -> syn::Result<Tokens> {
    let p = private();
    let name = &input.ident;
    let vis = &input.vis;
    let (impl_g, ty_g, where_c) = input.generics.split_for_impl();
    let table = match &container.table {
        Some(t) => t.value(),
        None => attrs::snake(&name.to_string()),
    };
    let schema = match &container.schema {
        Some(s) => {
            let s = s.value();
            quote!(::core::option::Option::Some(#s))
        }
        None => quote!(::core::option::Option::None),
    };
    let cols: Vec<&Field<'_>> = fields.iter().filter(|f| f.is_column()).collect();
    if cols.is_empty() {
        return Err(syn::Error::new_spanned(
            name,
            "#[derive(Model)] needs at least one column field (all fields are `skip`)",
        ));
    }

    // Column definitions.
    let defs = cols.iter().map(|f| {
        let col = &f.column;
        let field = f.ident.to_string();
        let mut d = quote!(#p::ModelColumn::new(#col, #field));
        if attrs::option_inner(f.ty).is_some() {
            d = quote!(#d.nullable());
        }
        if f.attrs.primary_key.is_some() {
            d = quote!(#d.primary_key());
        }
        if f.attrs.identity.is_some() {
            d = quote!(#d.identity());
        } else if f.attrs.generated.is_some() {
            d = quote!(#d.generated());
        }
        if let Some(e) = &f.attrs.sql_default {
            d = quote!(#d.default_sql(#e));
        }
        if let Some(t) = &f.attrs.sql_type {
            d = quote!(#d.sql_type(#t));
        }
        d
    });
    let sql_types = cols.iter().map(|f| {
        let ty = f.ty;
        quote_spanned! {ty.span()=> (&&#p::Probe::<#ty>::NEW).__sql_type() }
    });
    let values = cols.iter().map(|f| {
        let ident = f.ident;
        let ty = f.ty;
        quote_spanned! {ty.span()=> #p::to_value::<#ty>(&self.#ident) }
    });

    // Primary key.
    let mut pks: Vec<(usize, &&Field<'_>)> = cols
        .iter()
        .enumerate()
        .filter(|(_, f)| f.attrs.primary_key.is_some())
        .collect();
    // Key order: `primary_key = N` positions when given (then on every key field), else
    // field order.
    let positioned = pks
        .iter()
        .filter(|(_, f)| f.attrs.key_pos.is_some())
        .count();
    if positioned > 0 {
        if let Some((_, f)) = pks.iter().find(|(_, f)| f.attrs.key_pos.is_none()) {
            return Err(syn::Error::new_spanned(
                f.ident,
                "some key fields have a position (`primary_key = N`) and this one has none: \
                 give every key field its position",
            ));
        }
        let pos = |f: &Field<'_>| {
            f.attrs
                .key_pos
                .as_ref()
                .and_then(|n| n.base10_parse::<usize>().ok())
                .unwrap_or(0)
        };
        pks.sort_by_key(|(_, f)| pos(f));
        for (want, (_, f)) in pks.iter().enumerate() {
            if pos(f) != want + 1 {
                let at = f
                    .attrs
                    .key_pos
                    .as_ref()
                    .map(|n| n.span())
                    .unwrap_or(f.ident.span());
                return Err(syn::Error::new(
                    at,
                    format!(
                        "key positions must be 1 to {} without gaps or repeats; expected {} here",
                        pks.len(),
                        want + 1
                    ),
                ));
            }
        }
    }
    let key_idx: Vec<usize> = pks.iter().map(|(i, _)| *i).collect();
    let pks: Vec<&&Field<'_>> = pks.into_iter().map(|(_, f)| f).collect();
    let (key_ty, key_fn, key_values) = match pks.as_slice() {
        [] => (quote!(()), quote!(()), quote!(::std::vec::Vec::new())),
        [one] => {
            let ty = one.ty;
            let ident = one.ident;
            (
                quote!(#ty),
                quote!(::core::clone::Clone::clone(&self.#ident)),
                quote_spanned! {ty.span()=> ::std::vec![#p::to_value::<#ty>(__key)] },
            )
        }
        many => {
            let tys = many.iter().map(|f| f.ty);
            let idents = many.iter().map(|f| f.ident);
            let vals = many.iter().enumerate().map(|(i, f)| {
                let ty = f.ty;
                let i = syn::Index::from(i);
                quote_spanned! {ty.span()=> #p::to_value::<#ty>(&__key.#i) }
            });
            (
                quote!((#(#tys,)*)),
                quote!((#(::core::clone::Clone::clone(&self.#idents),)*)),
                quote!(::std::vec![#(#vals),*]),
            )
        }
    };

    // load(): decode every column first, then assign, so a failure changes nothing.
    let mut load_decode = Vec::new();
    let mut load_assign = Vec::new();
    let mut slot = 0usize;
    for f in fields {
        if f.attrs.skip.is_some() {
            continue;
        }
        let ident = f.ident;
        let ty = f.ty;
        let tmp = format_ident!("__v_{}", attrs::unraw(ident));
        let decode = quote_spanned! {ty.span()=>
            (&&&#p::Probe::<#ty>::NEW).__decode(__row, __plan.slot(#slot))?
        };
        if f.attrs.default_missing.is_some() {
            load_decode.push(quote! {
                let #tmp: ::core::option::Option<#ty> = if __plan.slot(#slot).is_present() {
                    ::core::option::Option::Some(#decode)
                } else {
                    ::core::option::Option::None
                };
            });
            load_assign.push(quote! {
                if let ::core::option::Option::Some(v) = #tmp { self.#ident = v; }
            });
        } else {
            load_decode.push(quote!(let #tmp: #ty = #decode;));
            load_assign.push(quote!(self.#ident = #tmp;));
        }
        slot += 1;
    }

    // Column constants.
    let mut consts = Vec::new();
    let mut seen: Vec<(String, &Ident)> = Vec::new();
    for f in &cols {
        let cname = attrs::screaming(&attrs::unraw(f.ident));
        if let Some((_, other)) = seen.iter().find(|(n, _)| *n == cname) {
            return Err(syn::Error::new_spanned(
                f.ident,
                format!(
                    "fields `{other}` and `{}` would both get the column constant `{cname}`; \
                     rename one field",
                    f.ident
                ),
            ));
        }
        seen.push((cname.clone(), f.ident));
        let cident = format_ident!("{}", cname, span = f.ident.span());
        let value_ty = attrs::option_inner(f.ty).unwrap_or(f.ty);
        let col = &f.column;
        let doc = format!(
            "The column `{col}` (field `{}`), for the query builder.",
            f.ident
        );
        consts.push(quote! {
            #[doc = #doc]
            #[allow(dead_code)]
            #vis const #cident: ::fastasyncpg::model::Column<Self, #value_ty> =
                ::fastasyncpg::model::Column::new(#col);
        });
    }

    Ok(quote! {
        #[automatically_derived]
        impl #impl_g ::fastasyncpg::Model for #name #ty_g #where_c {
            type Key = #key_ty;
            const TABLE: &'static str = #table;
            const SCHEMA: ::core::option::Option<&'static str> = #schema;
            const COLUMNS: &'static [#p::ModelColumn] = &[#(#defs),*];
            const KEY: &'static [usize] = &[#(#key_idx),*];

            fn key(&self) -> Self::Key {
                #key_fn
            }

            fn key_values(__key: &Self::Key) -> ::std::vec::Vec<::fastasyncpg::Value> {
                #key_values
            }

            fn values(&self) -> ::std::vec::Vec<::fastasyncpg::Value> {
                ::std::vec![#(#values),*]
            }

            fn sql_types() -> ::std::vec::Vec<::core::option::Option<::std::string::String>> {
                #[allow(unused_imports)]
                use #p::{SqlTypeKnown as _, SqlTypeUnknown as _};
                ::std::vec![#(#sql_types),*]
            }

            fn load(
                &mut self,
                __row: ::fastasyncpg::model::RowRef<'_>,
                __plan: &#p::RowPlan,
            ) -> ::fastasyncpg::Result<()> {
                #[allow(unused_imports)]
                use #p::{DecodeBoth as _, DecodeSql as _, DecodeValue as _};
                #(#load_decode)*
                #(#load_assign)*
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        impl #impl_g #name #ty_g #where_c {
            #(#consts)*
        }
    })
}
