//! Answers written straight from the models for the hottest selections: message lists, their
//! senders and reactions, and room members.
//!
//! async-graphql resolves every selected field of every object through its own boxed future,
//! with a path node and a result map per object, and most fields of a chat client's answers
//! are on messages, their senders and reactions: written here, those cost far less
//! (measurements in docs/performance.md). A type wrapped in [`Fast`] answers a selection set
//! itself when every selection in it is one it knows: a field without arguments or directives
//! that it writes from data already in hand, `__typename`, or a fragment on the type itself
//! without directives. Anything else (an argument, a directive, a field that needs a loader
//! of its own, a fragment on an interface, a response key selected twice) hands the whole
//! selection set to the type's `#[Object]` resolvers, which answer it as before. (`@include`
//! and `@skip` are applied, and removed, by async-graphql before anything runs.) The schema
//! does not change: [`Fast`] registers the inner type. A test compares both paths' answers.

use std::borrow::Cow;
use std::future::Future;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_container;
use async_graphql::{
    ContextSelectionSet, Name, ObjectType, OutputType, Positioned, ScalarType, ServerResult, Value,
};

/// A type that can write some selections of itself without async-graphql's per-field futures.
pub trait FastPath: ObjectType {
    /// What a selection may need loaded before it is written (reactions, a sender).
    type Loaded: Send + Sync;

    /// Whether this type writes `field` directly (for a field of object type: and that
    /// type writes all of the field's selection, see [`writable`]). Arguments, directives and
    /// `__typename` are checked by the caller.
    fn writes(ctx: &ContextSelectionSet<'_>, field: &Field) -> bool;

    /// Loads what `selection` needs; `None` when that fails (async-graphql then answers, and
    /// reports the error where it belongs).
    fn load(
        &self,
        ctx: &ContextSelectionSet<'_>,
        selection: &SelectionSet,
    ) -> impl Future<Output = Option<Self::Loaded>> + Send;

    /// The value of a field [`FastPath::writes`] accepted; `None` if it cannot after all.
    fn field(
        &self,
        ctx: &ContextSelectionSet<'_>,
        loaded: &Self::Loaded,
        field: &Field,
    ) -> Option<Value>;
}

/// `T` as an output: its selections answered by [`FastPath`] where it can, else by `T`'s own
/// resolvers. In the schema it is `T`.
pub struct Fast<T>(pub T);

impl<T: FastPath> OutputType for Fast<T> {
    fn type_name() -> Cow<'static, str> {
        T::type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        T::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        _field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let selection = &ctx.item.node;
        // Decided before loading anything: the resolvers would load it again.
        if writable::<T>(ctx, selection)
            && let Some(loaded) = self.0.load(ctx, selection).await
            && let Some(value) = object(ctx, selection, &self.0, &loaded)
        {
            return Ok(value);
        }
        resolve_container(ctx, &self.0).await
    }
}

/// Whether [`object`] can write all of `selection` on a `T`: every selection in it is a field
/// without arguments or directives that `T` writes (or `__typename`), or a fragment on `T`
/// without directives, and no response key comes twice (async-graphql merges those).
pub fn writable<T: FastPath>(ctx: &ContextSelectionSet<'_>, selection: &SelectionSet) -> bool {
    walk::<T>(ctx, selection, &mut Vec::new())
}

fn walk<'s, T: FastPath>(
    ctx: &'s ContextSelectionSet<'_>,
    selection: &'s SelectionSet,
    keys: &mut Vec<&'s Name>,
) -> bool {
    selection.items.iter().all(|item| match &item.node {
        Selection::Field(field) => {
            let field = &field.node;
            let key = &field.response_key().node;
            if !field.directives.is_empty() || !field.arguments.is_empty() || keys.contains(&key) {
                return false;
            }
            keys.push(key);
            field.name.node == "__typename" || T::writes(ctx, field)
        }
        Selection::InlineFragment(fragment) => {
            let fragment = &fragment.node;
            fragment.directives.is_empty()
                && fragment
                    .type_condition
                    .as_ref()
                    .is_none_or(|condition| condition.node.on.node == *T::type_name())
                && walk::<T>(ctx, &fragment.selection_set.node, keys)
        }
        Selection::FragmentSpread(spread) => {
            let spread = &spread.node;
            spread.directives.is_empty()
                && ctx
                    .query_env
                    .fragments
                    .get(&spread.fragment_name.node)
                    .is_some_and(|fragment| {
                        let fragment = &fragment.node;
                        fragment.type_condition.node.on.node == *T::type_name()
                            && walk::<T>(ctx, &fragment.selection_set.node, keys)
                    })
        }
    })
}

/// `object`'s answer to `selection`, which [`writable`] accepted; `None` if a field could not
/// be written after all.
pub fn object<T: FastPath>(
    ctx: &ContextSelectionSet<'_>,
    selection: &SelectionSet,
    object: &T,
    loaded: &T::Loaded,
) -> Option<Value> {
    let mut map = IndexMap::with_capacity(selection.items.len());
    collect(ctx, selection, object, loaded, &mut map)?;
    // As async-graphql answers an object none of whose fields were selected.
    Some(if map.is_empty() {
        Value::Null
    } else {
        Value::Object(map)
    })
}

fn collect<T: FastPath>(
    ctx: &ContextSelectionSet<'_>,
    selection: &SelectionSet,
    object: &T,
    loaded: &T::Loaded,
    map: &mut IndexMap<Name, Value>,
) -> Option<()> {
    for item in &selection.items {
        match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let value = if field.name.node == "__typename" {
                    Value::String(T::type_name().into_owned())
                } else {
                    object.field(ctx, loaded, field)?
                };
                map.insert(field.response_key().node.clone(), value);
            }
            Selection::InlineFragment(fragment) => {
                collect(ctx, &fragment.node.selection_set.node, object, loaded, map)?;
            }
            Selection::FragmentSpread(spread) => {
                let fragment = ctx
                    .query_env
                    .fragments
                    .get(&spread.node.fragment_name.node)?;
                collect(ctx, &fragment.node.selection_set.node, object, loaded, map)?;
            }
        }
    }
    Some(())
}

/// Whether `selection` selects the field `name` (directly or through fragments).
pub fn selects(ctx: &ContextSelectionSet<'_>, selection: &SelectionSet, name: &str) -> bool {
    selection.items.iter().any(|item| match &item.node {
        Selection::Field(field) => field.node.name.node == name,
        Selection::InlineFragment(fragment) => {
            selects(ctx, &fragment.node.selection_set.node, name)
        }
        Selection::FragmentSpread(spread) => ctx
            .query_env
            .fragments
            .get(&spread.node.fragment_name.node)
            .is_some_and(|fragment| selects(ctx, &fragment.node.selection_set.node, name)),
    })
}

/// A nullable child object's answer: null, or `object(...)` on its selection. A child is
/// written with what its parent loaded; its own [`FastPath::load`] is not called.
pub fn child<T: FastPath>(
    ctx: &ContextSelectionSet<'_>,
    field: &Field,
    value: Option<&T>,
    loaded: &T::Loaded,
) -> Option<Value> {
    match value {
        None => Some(Value::Null),
        Some(value) => object(ctx, &field.selection_set.node, value, loaded),
    }
}

/// A list of child objects' answers (written as in [`child`]).
pub fn list<'a, T: FastPath + 'a>(
    ctx: &ContextSelectionSet<'_>,
    field: &Field,
    values: impl IntoIterator<Item = &'a T>,
    loaded: &T::Loaded,
) -> Option<Value> {
    values
        .into_iter()
        .map(|value| object(ctx, &field.selection_set.node, value, loaded))
        .collect::<Option<Vec<_>>>()
        .map(Value::List)
}

/// A scalar as async-graphql writes it.
pub fn scalar<S: ScalarType>(value: &S) -> Value {
    value.to_value()
}

/// A nullable scalar as async-graphql writes it.
pub fn nullable<S: ScalarType>(value: Option<&S>) -> Value {
    value.map_or(Value::Null, ScalarType::to_value)
}

/// A nullable string.
pub fn text(value: Option<&str>) -> Value {
    value.map_or(Value::Null, |text| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::{Field, SelectionSet};
    use async_graphql::{
        ContextSelectionSet, EmptyMutation, EmptySubscription, Object, Schema, Value,
    };
    use serde_json::json;

    use super::{Fast, FastPath};

    /// Says which path answered it: its resolvers answer "resolvers", [`FastPath`] "fast".
    struct Probe;

    #[Object]
    impl Probe {
        async fn path(&self, shout: Option<bool>) -> &str {
            if shout == Some(true) {
                "RESOLVERS"
            } else {
                "resolvers"
            }
        }

        async fn other(&self) -> i32 {
            7
        }
    }

    impl FastPath for Probe {
        type Loaded = ();

        fn writes(_: &ContextSelectionSet<'_>, field: &Field) -> bool {
            field.name.node == "path"
        }

        async fn load(&self, _: &ContextSelectionSet<'_>, _: &SelectionSet) -> Option<()> {
            Some(())
        }

        fn field(&self, _: &ContextSelectionSet<'_>, (): &(), _: &Field) -> Option<Value> {
            Some(Value::String("fast".to_owned()))
        }
    }

    struct Root;

    #[Object]
    impl Root {
        async fn probe(&self) -> Fast<Probe> {
            Fast(Probe)
        }
    }

    async fn answer(query: &str) -> serde_json::Value {
        let schema = Schema::new(Root, EmptyMutation, EmptySubscription);
        let response = schema.execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data.into_json().expect("JSON")
    }

    #[tokio::test]
    async fn plain_fields_and_fragments_on_the_type_are_written_directly() {
        for query in [
            "{ probe { path } }",
            "{ probe { ... on Probe { path } } }",
            "{ probe { ... { path } } }",
            "{ probe { ...P } } fragment P on Probe { path }",
            // async-graphql applies @include and @skip before execution, and removes them.
            "{ probe { path @include(if: true) other @skip(if: true) } }",
            "{ probe { ...P @include(if: true) } } fragment P on Probe { path }",
        ] {
            assert_eq!(
                answer(query).await,
                json!({ "probe": { "path": "fast" } }),
                "{query}"
            );
        }
        assert_eq!(
            answer("{ probe { p: path kind: __typename } }").await,
            json!({ "probe": { "p": "fast", "kind": "Probe" } })
        );
    }

    #[tokio::test]
    async fn anything_else_goes_to_the_resolvers_whole() {
        let resolvers = json!({ "probe": { "path": "resolvers" } });
        for query in [
            "{ probe { path(shout: false) } }",
            "{ probe { path path } }",
            "{ probe { path ... { path } } }",
        ] {
            assert_eq!(answer(query).await, resolvers, "{query}");
        }
        assert_eq!(
            answer("{ probe { path other } }").await,
            json!({ "probe": { "path": "resolvers", "other": 7 } })
        );
        assert_eq!(
            answer("{ probe { path(shout: true) } }").await,
            json!({ "probe": { "path": "RESOLVERS" } })
        );
    }
}
