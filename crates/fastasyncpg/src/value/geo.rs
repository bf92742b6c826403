//! PostgreSQL's geometric types: `point`, `line`, `lseg`, `box`, `path`, `polygon`, `circle`.
//!
//! `Display` is PostgreSQL's own text form, which is also valid input.

use std::fmt;

use super::format::fmt_f64;

/// A `point`: `(x,y)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    /// X coordinate.
    pub x: f64,
    /// Y coordinate.
    pub y: f64,
}

impl Point {
    /// A point at `(x, y)`.
    pub fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({},{})", fmt_f64(self.x), fmt_f64(self.y))
    }
}

/// A `line`: the infinite line `a·x + b·y + c = 0`, written `{a,b,c}`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Line {
    /// Coefficient of x.
    pub a: f64,
    /// Coefficient of y.
    pub b: f64,
    /// Constant term.
    pub c: f64,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{{},{},{}}}",
            fmt_f64(self.a),
            fmt_f64(self.b),
            fmt_f64(self.c)
        )
    }
}

/// A line segment `lseg`: `[(x1,y1),(x2,y2)]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Lseg {
    /// First end point.
    pub start: Point,
    /// Second end point.
    pub end: Point,
}

impl fmt::Display for Lseg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{},{}]", self.start, self.end)
    }
}

/// A `box`: `(x1,y1),(x2,y2)` with the upper-right corner first (PostgreSQL reorders the
/// corners on input).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct GeoBox {
    /// Upper-right corner.
    pub high: Point,
    /// Lower-left corner.
    pub low: Point,
}

impl GeoBox {
    /// A box from any two opposite corners (normalized like PostgreSQL does).
    pub fn new(a: Point, b: Point) -> GeoBox {
        GeoBox {
            high: Point::new(a.x.max(b.x), a.y.max(b.y)),
            low: Point::new(a.x.min(b.x), a.y.min(b.y)),
        }
    }
}

impl fmt::Display for GeoBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.high, self.low)
    }
}

fn write_points(f: &mut fmt::Formatter<'_>, points: &[Point]) -> fmt::Result {
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{p}")?;
    }
    Ok(())
}

/// A `path`: open `[(x1,y1),…]` or closed `((x1,y1),…)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    /// True for a closed path (a polygon outline), false for an open one.
    pub closed: bool,
    /// The points, in order.
    pub points: Vec<Point>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (open, close) = if self.closed { ("(", ")") } else { ("[", "]") };
        f.write_str(open)?;
        write_points(f, &self.points)?;
        f.write_str(close)
    }
}

/// A `polygon`: `((x1,y1),…)`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Polygon {
    /// The vertices, in order.
    pub points: Vec<Point>,
}

impl fmt::Display for Polygon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        write_points(f, &self.points)?;
        f.write_str(")")
    }
}

/// A `circle`: `<(x,y),r>`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Circle {
    /// The center.
    pub center: Point,
    /// The radius.
    pub radius: f64,
}

impl fmt::Display for Circle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{},{}>", self.center, fmt_f64(self.radius))
    }
}
