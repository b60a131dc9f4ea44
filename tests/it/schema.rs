//! `schema.graphql` is what the code serves: regenerate it with `confab export-schema`.

#[test]
fn schema_file_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let served = confab::graphql::sdl();
    assert!(
        committed == served,
        "schema.graphql is stale: run `cargo run -- export-schema --out schema.graphql`"
    );
}

/// Every type, field, argument, input field and enum value a client sees is documented.
#[actix_web::test]
async fn everything_in_the_schema_is_described() {
    let schema = confab::graphql::schema_builder().finish();
    let query = "{ __schema { types { name description
        fields(includeDeprecated: true) { name description args { name description } }
        inputFields { name description }
        enumValues(includeDeprecated: true) { name description } } } }";
    let response = schema.execute(query).await;
    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    let described = |v: &serde_json::Value| {
        v["description"]
            .as_str()
            .is_some_and(|d| !d.trim().is_empty())
    };
    let mut missing = Vec::new();
    for ty in data["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") || ["String", "Int", "Float", "Boolean", "ID"].contains(&name) {
            continue;
        }
        if !described(ty) {
            missing.push(name.to_owned());
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            let field_name = field["name"].as_str().unwrap();
            if !described(field) {
                missing.push(format!("{name}.{field_name}"));
            }
            for arg in field["args"].as_array().into_iter().flatten() {
                if !described(arg) {
                    missing.push(format!(
                        "{name}.{field_name}({})",
                        arg["name"].as_str().unwrap()
                    ));
                }
            }
        }
        for item in ["inputFields", "enumValues"] {
            for value in ty[item].as_array().into_iter().flatten() {
                if !described(value) {
                    missing.push(format!("{name}.{}", value["name"].as_str().unwrap()));
                }
            }
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:#?}");
}
