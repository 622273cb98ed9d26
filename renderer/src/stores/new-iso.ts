/**
 * Create, from the new-image wizard, for a bootable ISO (issue 16): save the recipe beside the
 * image, build it (`recipe.build`, a job: the activity panel shows its progress), then open it.
 * The recipe's files are the ones the person picked, so their folders are allowed as
 * `--allow-outside` would allow them. A refusal of the file goes back to the path field; the
 * build's refusals (they name the recipe field) to the form.
 */
import { api } from '../api';
import { explainError } from '../features/common/errors';
import { basename, formatBytes } from '../features/common/format';
import { logError, logInfo } from './activity';
import { openImage } from './images';
import { useNewImageStore, type CreateOutcome } from './new-image';

export interface IsoCreatePlan {
  path: string;
  recipe: { path: string; document: unknown };
  allowOutside: string[];
}

export async function createIsoFromPlan(plan: IsoCreatePlan): Promise<CreateOutcome> {
  const name = basename(plan.path);
  useNewImageStore.setState({ step: 'Saving the recipe' });
  try {
    try {
      await api().recipe.save({ path: plan.recipe.path, recipe: plan.recipe.document });
    } catch (error) {
      const { text, code } = explainError(error);
      logError(error, 'Saving the recipe');
      return { ok: false, field: code === 'ALREADY_EXISTS' || code === 'NOT_FOUND' || code === 'IO' ? 'path' : null, message: text };
    }
    useNewImageStore.setState({ step: `Building ${name}` });
    try {
      const built = await api().recipe.build({
        path: plan.recipe.path,
        output: plan.path,
        ...(plan.allowOutside.length ? { allowOutside: plan.allowOutside } : {}),
      });
      logInfo(
        `Built ${built.image}: an ISO image of ${formatBytes(built.sizeBytes)}${built.iso?.hybrid ? ', hybrid (CD or USB stick)' : ''}, from ${basename(plan.recipe.path)}`,
        [
          `loopstudio build ${basename(plan.recipe.path)} -o ${name}${plan.allowOutside.map((dir) => ` --allow-outside ${dir}`).join('')}`,
          `loopstudio qemu ${name}`,
        ],
      );
    } catch (error) {
      const { text, code } = explainError(error);
      logError(error, `Building ${name}`);
      return { ok: false, field: code === 'ALREADY_EXISTS' ? 'path' : null, message: text };
    }
    useNewImageStore.setState({ step: 'Opening it' });
    await openImage(plan.path);
    return { ok: true };
  } catch (error) {
    return { ok: false, field: null, message: logError(error, `Opening ${name}`).text };
  } finally {
    useNewImageStore.setState({ step: null });
  }
}
