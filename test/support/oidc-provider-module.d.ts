// oidc-provider ships no type definitions; the tests use a small part of it (support/oidc-provider.ts).
declare module 'oidc-provider';
