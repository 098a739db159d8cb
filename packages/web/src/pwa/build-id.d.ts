/** Build id injected by vite.config.ts (`IMV_BUILD_ID`, or 'dev'). */
declare const __IMV_BUILD__: string;
