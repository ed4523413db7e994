// The spelling suggestions live with the diagnostics, below the loader that needs them too; the
// check rules keep importing them from here.
export { didYouMean, editDistance } from '../diagnostics/suggest.js';
