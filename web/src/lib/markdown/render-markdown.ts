/**
 * Annotation guidelines are written by project owners and shown to every annotator, so they are
 * rendered with raw HTML disabled: markdown-it escapes any tag in the source, and its link
 * validator drops javascript:, vbscript:, file: and non-image data: URLs. The output is therefore
 * safe to place with {@html}; nothing else in the app may be.
 */
import MarkdownIt from 'markdown-it';

const markdown = new MarkdownIt({ html: false, linkify: true });

const defaultLinkOpen =
  markdown.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));

// Guidelines link to outside material; keep the labeling tab in place and the opener private.
markdown.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx].attrSet('target', '_blank');
  tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
  return defaultLinkOpen(tokens, idx, options, env, self);
};

export function renderMarkdown(source: string): string {
  return markdown.render(source);
}
