/**
 * The daemon's size limits, at their defaults (dify-plugin-daemon `internal/types/app/default.go`):
 * what one plugin package may unpack to, and what a bundle upload may weigh.
 */
export const MAX_PACKAGE_BYTES = 52428800;
export const MAX_BUNDLE_BYTES = MAX_PACKAGE_BYTES * 12;
