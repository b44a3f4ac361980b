//! The bridges: the spell API's functions, one file each, over [`Value`]s.
//! Each file registers its bridges with the registry; the list below is the
//! only place that names them all.
//!
//! A bridge stands on the session seam ([`crate::session`]) only: it never
//! imports an engine or the runtime, and never knows a spell's language.
//! Adding one is a new file here and one line in [`Registry::standard`].

mod agent;
mod events;
mod files;
mod hooks;
mod http;
mod json;
mod llm;
mod log;
mod mcp;
mod mcp_servers;
mod print;
mod state;
mod tool;
mod tools;
mod workflow;

use crate::session::{GlobalDoc, Registry, Shape};

impl Registry {
    /// The registry with the built-in bridges of the spell API.
    pub fn standard() -> Self {
        let mut r = Registry::empty();
        r.add_shape(Shape {
            name: "SpellInfo",
            doc: "the run a spell is in",
            fields: "args: map, name: string, engine: \"lua\" | \"js\" | \"rhai\", dir: string",
        });
        r.add_shape(Shape {
            name: "ErrorInfo",
            doc: "an error as a value: its code (`llmspell api` lists them) and message",
            fields: "code: string, message: string",
        });
        r.add_value(GlobalDoc {
            name: "spell",
            ty: "SpellInfo",
            doc: "this run: spell.args (map of --arg k=v and --args-json), spell.name, \
                  spell.engine (\"lua\", \"js\" or \"rhai\"), spell.dir",
        });
        print::register(&mut r);
        log::register(&mut r);
        json::register(&mut r);
        state::register(&mut r);
        events::register(&mut r);
        hooks::register(&mut r);
        llm::register(&mut r);
        tool::register(&mut r);
        http::register(&mut r);
        mcp::register(&mut r);
        agent::register(&mut r);
        workflow::register(&mut r);
        r
    }
}

#[cfg(test)]
mod tests {
    use crate::session::Bridge;
    use crate::session::Registry;
    use crate::value::Value;

    #[test]
    fn the_standard_registry_documents_every_bridge_once() {
        let r = Registry::standard();
        let mut names: Vec<_> = r.bridges().iter().map(|b| b.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate bridge names");
        for (id, bridge) in r.bridges().iter().enumerate() {
            if let Some(object) = bridge.object {
                let methods = r.methods(id).unwrap();
                assert_eq!(
                    methods.len(),
                    object.methods.len(),
                    "{}'s methods",
                    bridge.name
                );
            }
        }
        for want in [
            "print",
            "log.info",
            "json.encode",
            "json.decode",
            "state.get",
            "state.update",
            "events.on",
            "events.emit",
            "hooks.before",
            "hooks.remove",
        ] {
            assert!(r.find(want).is_some(), "{want} missing");
        }
        let text = r.reference_text();
        assert!(
            text.contains("state.update(key: string, fn: fun(old: any): any) -> any"),
            "{text}"
        );
        assert!(text.contains("    ChatOptions {model?: string"), "{text}");
        let json = r.reference_json();
        assert_eq!(json["functions"].as_array().unwrap().len(), n);
    }

    #[test]
    fn adding_a_bridge_with_an_existing_name_replaces_it() {
        let mut r = Registry::standard();
        let n = r.bridges().len();
        r.add(Bridge::new(
            "json.encode",
            "v: any",
            "string",
            "mine",
            |_, _| Ok(Value::Null),
        ));
        assert_eq!(r.bridges().len(), n);
        assert_eq!(r.get(r.find("json.encode").unwrap()).doc, "mine");
    }
}
