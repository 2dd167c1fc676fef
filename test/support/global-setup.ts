// Every test project needs the compiled AssemblyScript modules; build them once up front.
import { compileAssemblyScript } from '../../scripts/assemblyscript.ts';

export default async function setup(): Promise<void> {
  await compileAssemblyScript(process.cwd());
}
