import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { diagnostic } from '../../diagnostics/catalog.js';
import type { CheckContext } from './context.js';
import { README_TRANSLATION } from '../../project/model.js';

/** The line `dify plugin init` puts in the documents it writes, until the author rewrites them. */
export const TEMPLATE_MARKER = '<!-- dify-plugin-cli:template -->';

/** README.md is the en_US readme Dify shows; translations live in readme/README_<lang>.md. */
export function readmes({ files }: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!files.some((f) => f.path === 'README.md')) {
    out.push(
      diagnostic(
        'readme/missing',
        { file: 'README.md' },
        'there is no README.md; Dify shows it as the plugin description page (en_US)',
        'add a README.md in English; translations go in readme/README_<lang>.md',
      ),
    );
  }
  for (const f of files) {
    if (!f.path.startsWith('readme/')) continue;
    const name = f.path.slice('readme/'.length);
    if (name.includes('/') || !README_TRANSLATION.test(name)) {
      out.push(
        diagnostic(
          'readme/bad-name',
          { file: f.path },
          `${f.path} is not named readme/README_<lang>.md, so Dify ignores it`,
          'name it like readme/README_zh_Hans.md, readme/README_ja_JP.md or readme/README_pt_BR.md',
        ),
      );
    }
  }
  return out;
}

/** Documents still showing the text `dify plugin init` wrote. */
export async function templateText({ project, files }: CheckContext): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const documents = files.filter((f) => /^(README|PRIVACY)\.md$|^readme\/README_[^/]+\.md$/.test(f.path));
  for (const f of documents) {
    const text = (await project.source.readFile(f.path)).toString('utf8');
    const index = text.indexOf(TEMPLATE_MARKER);
    if (index < 0) continue;
    const line = text.slice(0, index).split('\n').length;
    out.push({
      ...diagnostic(
        'template/text-left',
        { file: f.path },
        `${f.path} still holds the template text from \`dify plugin init\``,
        `write your own text and delete the line ${TEMPLATE_MARKER}`,
      ),
      line,
      column: 1,
    });
  }
  return out;
}
