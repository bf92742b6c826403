//! Compile-fail tests: attribute mistakes give errors that point at the offending token and
//! say what is expected. Regenerate the `.stderr` files with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
