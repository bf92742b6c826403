//! Query arguments: positional values for `$n` / `?`, and named values for `:name`.

use crate::value::Value;

/// Arguments of a query: positional (for `$n` and `?`) and named (for `:name`).
///
/// Build them with the [`args!`](crate::args) macro, from a tuple or a `Vec`, or step by step:
///
/// ```
/// use fastasyncpg::{args, Args};
/// let a = args![5, "AC/DC"; name = "x"];
/// let b = Args::new().arg(5).arg("AC/DC").named("name", "x");
/// assert_eq!(a, b);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    /// Positional arguments, `$1` first.
    pub positional: Vec<Value>,
    /// Named arguments for `:name` placeholders.
    pub named: Vec<(String, Value)>,
}

impl Args {
    /// No arguments.
    pub fn new() -> Self {
        Args::default()
    }

    /// Adds a positional argument.
    pub fn arg(mut self, v: impl Into<Value>) -> Self {
        self.positional.push(v.into());
        self
    }

    /// Adds (or replaces) a named argument.
    pub fn named(mut self, name: impl Into<String>, v: impl Into<Value>) -> Self {
        let name = name.into();
        let v = v.into();
        match self.named.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = v,
            None => self.named.push((name, v)),
        }
        self
    }

    /// True when there are no arguments at all.
    pub fn is_empty(&self) -> bool {
        self.positional.is_empty() && self.named.is_empty()
    }
}

/// Anything that can be used as query arguments: `()`, tuples of values, arrays and `Vec`s of
/// values, slices of [`Value`], and [`Args`].
pub trait IntoArgs {
    /// Converts into [`Args`].
    fn into_args(self) -> Args;
}

impl IntoArgs for Args {
    fn into_args(self) -> Args {
        self
    }
}
impl IntoArgs for &Args {
    fn into_args(self) -> Args {
        self.clone()
    }
}
impl IntoArgs for () {
    fn into_args(self) -> Args {
        Args::default()
    }
}
impl<T: Into<Value>> IntoArgs for Vec<T> {
    fn into_args(self) -> Args {
        Args {
            positional: self.into_iter().map(Into::into).collect(),
            named: Vec::new(),
        }
    }
}
impl<T: Into<Value>, const N: usize> IntoArgs for [T; N] {
    fn into_args(self) -> Args {
        Args {
            positional: self.into_iter().map(Into::into).collect(),
            named: Vec::new(),
        }
    }
}
impl IntoArgs for &[Value] {
    fn into_args(self) -> Args {
        Args {
            positional: self.to_vec(),
            named: Vec::new(),
        }
    }
}
impl IntoArgs for &Vec<Value> {
    fn into_args(self) -> Args {
        Args {
            positional: self.clone(),
            named: Vec::new(),
        }
    }
}

macro_rules! tuple_args {
    ($($t:ident),+) => {
        impl<$($t: Into<Value>),+> IntoArgs for ($($t,)+) {
            #[allow(non_snake_case)]
            fn into_args(self) -> Args {
                let ($($t,)+) = self;
                Args { positional: vec![$($t.into()),+], named: Vec::new() }
            }
        }
    };
}
tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
tuple_args!(A, B, C, D, E, F, G);
tuple_args!(A, B, C, D, E, F, G, H);
tuple_args!(A, B, C, D, E, F, G, H, I);
tuple_args!(A, B, C, D, E, F, G, H, I, J);
tuple_args!(A, B, C, D, E, F, G, H, I, J, K);
tuple_args!(A, B, C, D, E, F, G, H, I, J, K, L);

/// Builds [`Args`]: positional values, then optionally `;` and `name = value` pairs.
///
/// ```
/// use fastasyncpg::args;
/// let a = args![1, "two"];
/// let b = args![1; name = "AC/DC", id = 5];
/// let c = args![; name = "AC/DC"];
/// assert_eq!(a.positional.len(), 2);
/// assert_eq!(b.named.len(), 2);
/// assert!(c.positional.is_empty());
/// ```
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)? $(; $($k:ident = $nv:expr),* $(,)?)?) => {{
        #[allow(unused_mut)]
        let mut a = $crate::Args::new();
        $( a = a.arg($v); )*
        $($( a = a.named(stringify!($k), $nv); )*)?
        a
    }};
}
