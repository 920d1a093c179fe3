/** JSON values: what checkpoint metadata, model configs and optimizer state are made of. */
export type JsonValue = number | string | boolean | null | JsonValue[] | { [key: string]: JsonValue };
