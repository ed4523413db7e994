/**
 * The daemon's size limits, at their defaults (dify-plugin-daemon `internal/types/app/default.go`):
 * what one plugin package may unpack to, and what a bundle upload may weigh.
 */
export const MAX_PACKAGE_BYTES = 52428800;
export const MAX_BUNDLE_BYTES = MAX_PACKAGE_BYTES * 12;

/**
 * Sizes and offsets of a ZIP without ZIP64 are 32-bit (APPNOTE 4.4.8, 4.4.9, 4.4.16): the largest
 * file, and the largest archive, this CLI writes (it writes no ZIP64).
 */
export const ZIP32_MAX = 0xffffffff;
