import { remoteCommandsSuite } from '../testing/remote-commands-suite.js';

remoteCommandsSuite('sftp');
