// The schema lint: checks the exported SDL (../../schema.graphql) against the API conventions.
// Run from the repository root with `make lint-schema` (part of `make check`). The rule set is
// the plugin's schema-recommended and schema-relay configs, adjusted below; README "The API"
// explains it.
import { fileURLToPath } from "node:url";
import graphqlPlugin from "@graphql-eslint/eslint-plugin";

const schemaFile = fileURLToPath(new URL("../../schema.graphql", import.meta.url));
const { rules: recommended } = graphqlPlugin.configs["flat/schema-recommended"];
const { rules: relay } = graphqlPlugin.configs["flat/schema-relay"];
const [, namingOptions] = recommended["@graphql-eslint/naming-convention"];

export default [
  {
    files: ["schema.graphql"],
    languageOptions: {
      parser: graphqlPlugin.parser,
      parserOptions: { graphQLConfig: { schema: schemaFile } },
    },
    plugins: { "@graphql-eslint": graphqlPlugin },
    rules: {
      ...recommended,
      ...relay,
      // Queries are nouns: no get/fetch/query prefixes (the recommended set forgets "fetch").
      "@graphql-eslint/naming-convention": [
        "error",
        {
          ...namingOptions,
          "FieldDefinition[parent.name.value=Query]": {
            forbiddenPrefixes: ["query", "get", "fetch"],
            forbiddenSuffixes: ["Query"],
          },
        },
      ],
      // Every public type, field, argument and enum value has a description. A mutation's
      // `input: <Name>Input!` argument is the exception: its input type carries the description.
      "@graphql-eslint/require-description": [
        "error",
        {
          types: true,
          rootField: true,
          DirectiveDefinition: true,
          FieldDefinition: true,
          InputValueDefinition: true,
          EnumValueDefinition: true,
          ignoredSelectors: ["InputValueDefinition[name.value=input]"],
        },
      ],
      // Entities are Relay nodes with `id: ID!`. Types without an identity of their own are
      // exempt: payloads, errors, connections and edges, and values that live inside an
      // entity (an order's lines, address, events and payments; money; aggregates). A new type
      // without an id has to be added here on purpose.
      "@graphql-eslint/strict-id-in-types": [
        "error",
        {
          acceptedIdNames: ["id"],
          acceptedIdTypes: ["ID"],
          exceptions: {
            suffixes: ["Payload", "Error", "Connection", "Edge", "Facet", "Facets"],
            types: [
              "DaySales",
              "ImportRowResult",
              "Money",
              "OrderAddress",
              "OrderEvent",
              "OrderLine",
              "OrderPayment",
              "PageInfo",
              "PaymentAttempt",
              "PaymentCheckout",
              "PaymentPrefill",
              "ProductSales",
              "RatingBucket",
              "Refund",
              "ReviewModeration",
              "SalesSummary",
              "SearchHighlight",
              "SearchSuggestion",
              "ShortLine",
              "TextRange",
            ],
          },
        },
      ],
      // Lists that can grow are connections; bounded ones (a payload's `errors`, an order's
      // lines, a product's images) are plain lists by API.md, so lists may wrap other types.
      "@graphql-eslint/relay-edge-types": ["error", { listTypeCanWrapOnlyEdgeType: false }],
      // Mutations return a `<Name>Payload` object, never a bare scalar (from schema-all).
      "@graphql-eslint/no-scalar-result-type-on-mutation": "error",
    },
  },
];
