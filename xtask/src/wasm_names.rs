//! Shortens the names by which the tracker's wasm and its wasm-bindgen glue call each
//! other. wasm-bindgen names every import `__wbg_<method>_<16 hex digits>`: about a
//! hundred such names, each stored in both files, are incompressible bytes of the size
//! budget. wasm-opt's `--minify-imports-and-exports-and-modules` renames them in the
//! wasm (every import into one module `a`) and prints the mapping, which this module
//! applies to the glue.

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The one import module wasm-opt puts every import in when it minifies modules.
const MINIFIED_MODULE: &str = "a";
/// The module wasm-bindgen's glue itself provides (the glue's `import0` object).
const GLUE_MODULE: &str = "./perfscope_tracker_bg.js";

/// One renamed import: `module`/`name` before, `short` after.
struct Import {
    module: String,
    name: String,
    short: String,
}

/// `mapping` is wasm-opt's printed JSON: `{"imports": [[module, name, short]…],
/// "exports": [[name, short]…]}`. Fails rather than guess when the glue does not have
/// the shape this rewrite knows, so a wasm-bindgen upgrade cannot ship a broken glue.
pub fn apply_to_glue(glue: &str, mapping: &str) -> Result<String> {
    let mapping: Value = serde_json::from_str(mapping).context("wasm-opt's name mapping")?;
    let imports = parse_imports(&mapping)?;
    let exports = parse_pairs(&mapping["exports"])?;
    let mut glue = glue.to_owned();
    let mut from_snippets = String::new();
    for import in &imports {
        if import.module == GLUE_MODULE {
            glue = replace_once(
                &glue,
                &format!("        {}: function", import.name),
                &format!("        {}: function", import.short),
            )?;
        } else {
            let namespace = namespace_of(&glue, &import.module)?;
            from_snippets.push_str(&format!(
                "    import0.{} = {namespace}.{};\n",
                import.short, import.name
            ));
        }
    }
    glue = replace_import_object(&glue, &from_snippets)?;
    for (name, short) in &exports {
        glue = replace_member(&glue, &format!("wasm.{name}"), &format!("wasm.{short}"));
    }
    Ok(glue)
}

fn parse_imports(mapping: &Value) -> Result<Vec<Import>> {
    let rows = mapping["imports"]
        .as_array()
        .context("wasm-opt's mapping has no `imports` list")?;
    rows.iter()
        .map(|row| match row.as_array().map(Vec::as_slice) {
            Some([module, name, short]) => Ok(Import {
                module: text(module)?,
                name: text(name)?,
                short: text(short)?,
            }),
            _ => bail!("unexpected import mapping row {row}"),
        })
        .collect()
}

fn parse_pairs(rows: &Value) -> Result<Vec<(String, String)>> {
    let rows = rows
        .as_array()
        .context("wasm-opt's mapping has no `exports` list")?;
    rows.iter()
        .map(|row| match row.as_array().map(Vec::as_slice) {
            Some([name, short]) => Ok((text(name)?, text(short)?)),
            _ => bail!("unexpected export mapping row {row}"),
        })
        .collect()
}

fn text(value: &Value) -> Result<String> {
    value
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("expected a string in wasm-opt's mapping, got {value}"))
}

fn replace_once(glue: &str, from: &str, to: &str) -> Result<String> {
    match glue.matches(from).count() {
        1 => Ok(glue.replacen(from, to, 1)),
        count => bail!("expected `{from}` once in the glue, found it {count} times"),
    }
}

/// `import * as importN from "<module>"`: the namespace a snippet's functions live in.
fn namespace_of(glue: &str, module: &str) -> Result<String> {
    let tail = format!(" from \"{module}\"");
    glue.lines()
        .find_map(|line| {
            line.strip_suffix(&tail)?
                .strip_prefix("import * as ")
                .map(str::to_owned)
        })
        .with_context(|| format!("the glue does not import {module}"))
}

/// The object `__wbg_get_imports` returns, keyed by module: now one module holding the
/// glue's own imports plus the snippets' functions.
fn replace_import_object(glue: &str, from_snippets: &str) -> Result<String> {
    let start = glue
        .find("    return {\n        __proto__: null,\n        \"./perfscope_tracker_bg.js\": import0,")
        .context("the glue's import object has an unknown shape")?;
    let end = start
        + glue[start..]
            .find("    };\n")
            .context("the glue's import object does not end")?
        + "    };\n".len();
    Ok(format!(
        "{}{from_snippets}    return {{ {MINIFIED_MODULE}: import0 }};\n{}",
        &glue[..start],
        &glue[end..]
    ))
}

/// Replaces `from` wherever it is not followed by more of an identifier, so
/// `wasm.start` does not also rename `wasm.start_x`.
fn replace_member(glue: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(glue.len());
    let mut rest = glue;
    while let Some(at) = rest.find(from) {
        let after = &rest[at + from.len()..];
        let whole = !after
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
        out.push_str(&rest[..at]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLUE: &str = r#"import * as import1 from "./snippets/x/inline0.js"

export function start(a) {
    wasm.start(a);
    wasm.start_other();
}
function __wbg_get_imports() {
    const import0 = {
        __proto__: null,
        __wbg_now_0123456789abcdef: function() {
            return Date.now();
        },
    };
    return {
        __proto__: null,
        "./perfscope_tracker_bg.js": import0,
        "./snippets/x/inline0.js": import1,
    };
}
const t = wasm.memory.buffer;
"#;

    const MAPPING: &str = r#"{
 "imports": [
  ["./perfscope_tracker_bg.js", "__wbg_now_0123456789abcdef", "b"],
  ["./snippets/x/inline0.js", "guardBefore", "c"]
 ],
 "exports": [["start", "d"], ["memory", "e"]]
}"#;

    #[test]
    fn renames_imports_exports_and_merges_modules() {
        let glue = apply_to_glue(GLUE, MAPPING).unwrap();
        assert!(glue.contains("        b: function()"), "{glue}");
        assert!(
            glue.contains("    import0.c = import1.guardBefore;\n"),
            "{glue}"
        );
        assert!(glue.contains("    return { a: import0 };\n}"), "{glue}");
        assert!(glue.contains("wasm.d(a);"), "{glue}");
        assert!(glue.contains("wasm.start_other();"), "{glue}");
        assert!(glue.contains("wasm.e.buffer"), "{glue}");
        assert!(!glue.contains("__wbg_now"), "{glue}");
        assert!(!glue.contains("\"./perfscope_tracker_bg.js\""), "{glue}");
    }

    #[test]
    fn refuses_a_glue_without_the_mapped_import() {
        let mapping = MAPPING.replace("__wbg_now_0123456789abcdef", "__wbg_gone_0");
        let error = apply_to_glue(GLUE, &mapping).unwrap_err().to_string();
        assert!(error.contains("__wbg_gone_0"), "{error}");
    }
}
