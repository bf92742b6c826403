//! Primary-key values: one value, or a tuple for composite keys.

use std::fmt;

use crate::value::Value;

/// The value(s) of a primary key, in key order: one value for a single-column key, several
/// for a composite key.
///
/// Anything convertible to a [`Value`] is a single-column key; tuples are composite keys:
///
/// ```
/// use fastasyncpg::{IntoKey, Key};
/// let k: Key = 5.into_key();
/// let ck: Key = (1, 3503).into_key();
/// assert_eq!(ck.len(), 2);
/// assert_eq!(ck.to_string(), "(1, 3503)");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Key(Vec<Value>);

impl Key {
    /// A key from its values, in key order.
    pub fn new(values: Vec<Value>) -> Self {
        Key(values)
    }

    /// The values, in key order.
    pub fn values(&self) -> &[Value] {
        &self.0
    }

    /// The values, owned.
    pub fn into_values(self) -> Vec<Value> {
        self.0
    }

    /// Number of key columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a key with no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [one] => write!(f, "{}", one.to_json()),
            vals => {
                f.write_str("(")?;
                for (i, v) in vals.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", v.to_json())?;
                }
                f.write_str(")")
            }
        }
    }
}

/// Anything usable as a primary key: a single value (`5`, `"abc"`, a [`Value`]), a tuple of
/// values for a composite key (`(1, 3503)`), or a [`Key`].
pub trait IntoKey {
    /// Converts into a [`Key`].
    fn into_key(self) -> Key;
}

impl<T: Into<Value>> IntoKey for T {
    fn into_key(self) -> Key {
        Key(vec![self.into()])
    }
}

impl IntoKey for Key {
    fn into_key(self) -> Key {
        self
    }
}

impl IntoKey for &Key {
    fn into_key(self) -> Key {
        self.clone()
    }
}

macro_rules! tuple_key {
    ($($t:ident),+) => {
        impl<$($t: Into<Value>),+> IntoKey for ($($t,)+) {
            #[allow(non_snake_case)]
            fn into_key(self) -> Key {
                let ($($t,)+) = self;
                Key(vec![$($t.into()),+])
            }
        }
    };
}
tuple_key!(A, B);
tuple_key!(A, B, C);
tuple_key!(A, B, C, D);
tuple_key!(A, B, C, D, E);
tuple_key!(A, B, C, D, E, F);
