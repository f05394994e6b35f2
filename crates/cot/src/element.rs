//! A detail element kept whole: name, attributes, text and children, and how it is written.

use std::fmt::Write as _;

/// An XML element under `<detail>` that the codec does not map to a typed field, kept so it
/// can be read (remarks, links, range and bearing, a truce detail) and written back.
///
/// Its text is the concatenation of its character data, unescaped; text made only of
/// whitespace is dropped (it is the indentation of pretty-printed XML). Text is written
/// before the children, so mixed content keeps its words but not their interleaving with
/// child elements, which no CoT detail relies on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// Element name, as sent (CoT names such as `__group` or `_flow-tags_` included).
    pub name: String,
    /// Attributes in the order sent, values unescaped.
    pub attributes: Vec<(String, String)>,
    /// Character data, unescaped.
    pub text: String,
    /// Child elements in the order sent.
    pub children: Vec<Element>,
}

impl Element {
    /// An element with a name and attributes, no text or children.
    pub fn new(name: &str, attributes: &[(&str, &str)]) -> Self {
        Self {
            name: name.to_owned(),
            attributes: attributes
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            text: String::new(),
            children: Vec::new(),
        }
    }

    /// The value of attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Writes the element as XML (attributes in double quotes; `<`, `>`, `&`, quotes and
    /// line breaks escaped so that parsing it gives back this element).
    pub fn write_to(&self, out: &mut String) {
        out.push('<');
        out.push_str(&self.name);
        write_attributes(out, self.attributes.iter().map(|(k, v)| (k.as_str(), v)));
        if self.text.is_empty() && self.children.is_empty() {
            out.push_str("/>");
            return;
        }
        out.push('>');
        out.push_str(&escape_text(&self.text));
        for c in &self.children {
            c.write_to(out);
        }
        let _ = write!(out, "</{}>", self.name);
    }

    /// The element as XML text.
    pub fn to_xml(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }

    /// Elements under `<detail>`, at any depth, counting this one.
    pub(crate) fn count(&self) -> usize {
        1 + self.children.iter().map(Element::count).sum::<usize>()
    }
}

/// Writes ` name="value"` for each attribute, escaped.
pub(crate) fn write_attributes<'a>(
    out: &mut String,
    attributes: impl Iterator<Item = (&'a str, &'a String)>,
) {
    for (k, v) in attributes {
        let _ = write!(out, " {k}=\"{}\"", escape_attribute(v));
    }
}

/// Escapes character data: markup characters and carriage returns.
pub(crate) fn escape_text(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// Escapes an attribute value: as text, and tabs and line feeds too, which XML would
/// otherwise turn into spaces when the value is read back.
pub(crate) fn escape_attribute(value: &str) -> String {
    let escaped = quick_xml::escape::escape(value);
    if escaped.contains(['\n', '\t']) {
        escaped.replace('\n', "&#10;").replace('\t', "&#9;")
    } else {
        escaped.into_owned()
    }
}
