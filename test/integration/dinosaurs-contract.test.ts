import { dinosaurKind } from '../../src/kinds/dinosaurs/model.ts';
import { validDinosaur } from '../support/factories/dinosaurs.ts';
import { describeKindContract } from '../support/kind-contract.ts';

describeKindContract(dinosaurKind, validDinosaur);
