import { openMemoryStore } from '../../src/store/store.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('memory', async () => openMemoryStore());
